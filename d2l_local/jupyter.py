"""Run All on a whole chapter: the d2l kernels skip other frameworks' cells.

A chapter opened in JupyterLab through Jupytext holds the cells of all four
frameworks, and each kernel has only one framework installed. Every d2l kernel
loads this IPython extension (its kernelspec passes `--ext d2l_local.jupyter`
and names its framework in $D2L_FRAMEWORK). JupyterLab sends a cell's metadata,
tags included, with the cell's execute request; a cell tagged with another
framework is replaced by a one-line note before IPython compiles it, so Run All
goes on to the next cell instead of stopping at an ImportError.

This module imports no framework and nothing outside the standard library and
IPython: every framework environment loads it.
"""
import os

from d2l_local import FRAMEWORKS, LABELS, cell_framework, omp_threads


def skip_note(cell_framework, kernel_framework):
    """The output of a cell that belongs to another framework's tab."""
    return (f'[skipped: this cell is for {LABELS[cell_framework]}; this '
            f'kernel runs {LABELS[kernel_framework]}]')


class OtherFrameworkSkipper:
    """An IPython input transformer that swaps the source of another
    framework's cell for a print of the skip note."""

    def __init__(self, shell, framework):
        self.shell, self.framework = shell, framework

    def request_tags(self):
        # The transformer only sees the code; the tags travel in the
        # metadata of the execute request the kernel is answering.
        kernel = getattr(self.shell, 'kernel', None)
        if kernel is None:
            return []
        parent = kernel.get_parent('shell') or {}
        if parent.get('header', {}).get('msg_type') != 'execute_request':
            return []
        tags = (parent.get('metadata') or {}).get('tags')
        return tags if isinstance(tags, list) else []

    def __call__(self, lines):
        owner = cell_framework(self.request_tags())
        if owner is None or owner == self.framework:
            return lines
        return [f'print({skip_note(owner, self.framework)!r})\n']


def kernel_framework():
    """The framework of this kernel, from $D2L_FRAMEWORK (set in the d2l
    kernelspecs); an unknown value is an error naming the variable."""
    name = os.environ.get('D2L_FRAMEWORK', '').strip()
    if name not in FRAMEWORKS:
        raise RuntimeError(
            f'd2l_local.jupyter: D2L_FRAMEWORK={name!r} names no framework; '
            f'the d2l kernels set it to one of {", ".join(FRAMEWORKS)} '
            '(re-register them with `make env`)')
    return name


def load_ipython_extension(shell):
    unload_ipython_extension(shell)
    framework = kernel_framework()
    if framework == 'mxnet':
        # The kernel starts before any cell imports MXNet, which reads its
        # thread count only when it loads.
        omp_threads.give_mxnet_every_core()
    shell.input_transformers_cleanup.insert(
        0, OtherFrameworkSkipper(shell, framework))


def unload_ipython_extension(shell):
    shell.input_transformers_cleanup[:] = [
        t for t in shell.input_transformers_cleanup
        if not isinstance(t, OtherFrameworkSkipper)]
