"""JupyterLab's contents manager for the book: Jupytext's, plus the kernel's
language_info, so that opening a chapter marks nothing unsaved, and the
chapter's own kernelspec on saving, so that saving rewrites nothing but the
edit.

When a kernel connects, JupyterLab writes the kernel's `language_info` into
the notebook's metadata, and any change marks the notebook unsaved. Jupytext's
Markdown keeps no language_info (its metadata filter drops it), and split's
notebooks only name the language: opening either would mark it unsaved,
though saving writes the same bytes. This manager fills in, as a notebook is
read, the language_info that the kernel its kernelspec names reports; a
language_info already in the notebook is left as it is.

JupyterLab also rewrites the kernelspec when a kernel starts: the one this
session runs on, keys in its own order. A Markdown chapter keeps the
kernelspec it has on disk (the kernel a reader starts on; choosing another
kernel changes the framework of the session, not the chapter), and keys are
saved sorted, as in the chapters and in nbformat's notebooks.

    jupyter lab --ServerApp.contents_manager_class=bookbuild.jupyter.labcontents.BookContentsManager

(the Makefile's `make lab`; Jupytext's server extension sees a Jupytext
manager already and leaves it).
"""
import json
import os
import subprocess

import jupytext

from jupyter_server.services.contents.largefilemanager import \
    AsyncLargeFileManager
from jupytext.async_contentsmanager import \
    build_async_jupytext_contents_manager_class

# What ipykernel reports as language_info, computed by the kernel's Python.
LANGUAGE_INFO_SCRIPT = ('import json; from ipykernel.ipkernel import '
                        'IPythonKernel; print(json.dumps('
                        'IPythonKernel.language_info))')


def kernel_language_info(kernel_name, cache={}):
    """The language_info the kernel `kernel_name` reports, or None when it
    is not an ipykernel that can be asked (its spec is then left alone)."""
    if kernel_name not in cache:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
        try:
            spec = KernelSpecManager().get_kernel_spec(kernel_name)
        except NoSuchKernel:
            return None
        found = None
        if spec.language == 'python' and 'ipykernel_launcher' in spec.argv:
            try:
                result = subprocess.run(
                    [spec.argv[0], '-c', LANGUAGE_INFO_SCRIPT],
                    capture_output=True, text=True, timeout=60)
                if result.returncode == 0:
                    found = json.loads(result.stdout)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                pass
        cache[kernel_name] = found
    return cache[kernel_name]


def fill_language_info(metadata):
    """Complete a notebook's language_info from its kernel's; True if it
    changed anything."""
    name = (metadata.get('kernelspec') or {}).get('name')
    current = metadata.get('language_info') or {}
    if not name or set(current) - {'name'}:
        return False
    info = kernel_language_info(name)
    if not info or current.get('name', info['name']) != info['name']:
        return False
    metadata['language_info'] = info
    return True


class BookContentsManager(
        build_async_jupytext_contents_manager_class(AsyncLargeFileManager)):

    async def save(self, model, path=''):
        content = model.get('content')
        if model.get('type') == 'notebook' and content:
            metadata = content.setdefault('metadata', {})
            kept = self.chapter_kernelspec(path)
            if kept:
                metadata['kernelspec'] = kept
            if isinstance(metadata.get('kernelspec'), dict):
                metadata['kernelspec'] = dict(
                    sorted(metadata['kernelspec'].items()))
        return await super().save(model, path)

    def chapter_kernelspec(self, path):
        """The kernelspec a Markdown chapter on disk names, or None.

        A chapter's kernelspec is the kernel every reader starts on, not the
        one this session picked: JupyterLab's autosave would otherwise write
        a learner's choice of framework into the chapter."""
        if not path.endswith('.md'):
            return None
        os_path = self._get_os_path(path.strip('/'))
        if not os.path.isfile(os_path):
            return None
        try:
            return jupytext.read(os_path).metadata.get('kernelspec')
        except Exception:  # unreadable: the save reports its own error
            return None

    async def get(self, path, *args, **kwargs):
        model = await super().get(path, *args, **kwargs)
        if model.get('type') == 'notebook' and model.get('content'):
            fill_language_info(model['content'].setdefault('metadata', {}))
        return model
