"""Assembly: the complete book from the outputs of several framework builds
(one run directory each, as four CI jobs upload them), executing nothing.

A run directory is a build directory (or the artifact a framework job
uploads): its `executed/` folder holds `<chapter>-<framework>.ipynb`, each
with its run record (mode, cache key, accelerator, lock hash, machine).
Before anything is written, every chapter's every framework must be found
exactly once and be what this checkout would have executed: the same run
mode, the same lock pins, and the same cache key, recomputed from this
checkout's chapter, d2l_local and lock file (bookbuild.execute.cache_key,
the one test of "made from this code"). Then the notebooks are copied into
the build directory and merged and rendered as a build would.
"""
import pathlib

import nbformat

from bookbuild.errors import BookError
from bookbuild.execute import cache_key, code_cells, lock_digest
from bookbuild.files import display_path
from bookbuild.source import read_chapter
from bookbuild.split import chapter_notebook, notebook_name


class AssemblyError(BookError, RuntimeError):
    pass


def executed_folder(run_dir):
    """Where a run directory keeps its executed notebooks: its executed/
    folder, or the directory itself (an artifact of that folder alone)."""
    run_dir = pathlib.Path(run_dir)
    if not run_dir.is_dir():
        raise AssemblyError(f'{run_dir}: no such run directory (a framework '
                            "build's directory or its downloaded artifact)")
    folder = run_dir / 'executed'
    if folder.is_dir():
        return folder
    if any(run_dir.glob('*.ipynb')):
        return run_dir
    raise AssemblyError(f'{run_dir}: holds no executed/ folder and no '
                        'executed notebooks: not the output of a framework '
                        'build')


def find_outputs(run_dirs, chapter_names, frameworks):
    """{(chapter, framework): executed notebook}; each exactly once."""
    folders = [executed_folder(d) for d in run_dirs]
    found, missing = {}, []
    for chapter in chapter_names:
        for fw in frameworks:
            name = notebook_name(chapter, fw)
            paths = [f / name for f in folders if (f / name).is_file()]
            if len(paths) > 1:
                raise AssemblyError(
                    f'chapter {chapter}, framework {fw}: given by more than '
                    f'one run directory ({", ".join(map(str, paths))}); '
                    'name each framework\'s outputs once')
            if paths:
                found[chapter, fw] = paths[0]
            else:
                missing.append((chapter, fw))
    if missing:
        chapter, fw = missing[0]
        others = ', '.join(f'{c}/{f}' for c, f in missing[1:])
        raise AssemblyError(
            f'chapter {chapter}, framework {fw}: outputs missing: no '
            f'{notebook_name(chapter, fw)} in '
            f'{", ".join(str(f) for f in folders)}; build that framework '
            f'(make execute FRAMEWORKS_BUILD={fw}) or download its artifact'
            + (f' (also missing: {others})' if others else ''))
    return found


def first_difference(executed, fresh):
    """Where the chapter's code first differs from the code `executed`
    ran, for the message: (code cell position, source line) or None."""
    ran, want = code_cells(executed), code_cells(fresh)
    for position, cell in enumerate(want, 1):
        old = ran[position - 1].source if position <= len(ran) else ''
        if old == cell.source:
            continue
        new_lines, old_lines = cell.source.split('\n'), old.split('\n')
        offset = next((i for i, (a, b) in enumerate(zip(new_lines, old_lines))
                       if a != b), min(len(new_lines), len(old_lines)))
        first = cell.metadata['d2l_book'].get('code_line')
        return position, (first + offset if first else '?')
    return None if len(ran) == len(want) else (len(want) + 1, 'end')


def check_outputs(layout, chapters, frameworks, found, mode=None):
    """Raise AssemblyError naming the chapter and framework of the first
    output that this checkout would not have produced in `mode` (None: the
    mode of the first output, the same for all). Returns the mode."""
    first = None
    for chapter_path in chapters:
        chapter = read_chapter(chapter_path)
        source = display_path(chapter_path, layout.root)
        for fw in frameworks:
            path = found[chapter.name, fw]
            where = f'{source}: chapter {chapter.name}, framework {fw}'
            try:
                executed = nbformat.read(path, as_version=4)
            except Exception as e:  # nbformat raises several kinds
                raise AssemblyError(f'{where}: {path} is not a readable '
                                    f'notebook ({e})') from e
            run = executed.metadata.get('d2l_book', {}).get('run') or {}
            if 'cache_key' not in run or 'mode' not in run:
                raise AssemblyError(f'{where}: {path} has no run record: it '
                                    "was not written by the build's execute "
                                    'stage')
            if mode is None:
                mode = run['mode']
                first = f'{chapter.name}/{fw}'
            if run['mode'] != mode:
                wanted = 'the --mode asked for' if first is None else \
                    f'the mode of {first}'
                raise AssemblyError(
                    f'{where}: {path} was executed in {run["mode"]} mode, '
                    f'but the book is assembled in {mode} mode ({wanted}); '
                    'rebuild that framework in one mode with the others')
            accel = run.get('accel', 'cpu')
            lock_file = layout.lock_file(fw, accel)
            shown_lock = display_path(lock_file, layout.root)
            if run.get('lock_sha256', lock_digest(lock_file)) != \
                    lock_digest(lock_file):
                raise AssemblyError(
                    f'{where}: {path} was made with other lock files than '
                    f'this checkout\'s {shown_lock} (pins sha256 '
                    f'{run["lock_sha256"][:12]}, here '
                    f'{lock_digest(lock_file)[:12]}); rebuild that framework '
                    'from this commit')
            fresh = chapter_notebook(chapter, fw)
            if cache_key(fresh, fw, mode, layout.library, lock_file) == \
                    run['cache_key']:
                continue
            # The notebook's own code, with this checkout's library and
            # lock: its key matches if only the chapter's code moved on.
            if cache_key(executed, fw, mode, layout.library, lock_file) == \
                    run['cache_key']:
                position, line = first_difference(executed, fresh) or \
                    ('?', '?')
                raise AssemblyError(
                    f'{source}:{line}: chapter {chapter.name}, framework '
                    f'{fw}: {path} is stale: it was made from other code '
                    f'than the chapter\'s (code cell {position} differs); '
                    'rebuild that framework from this commit')
            raise AssemblyError(
                f'{where}: {path} is stale: it was made from another '
                f'd2l_local or build than this checkout\'s (cache key '
                f'{run["cache_key"][:12]} is not this commit\'s); rebuild '
                'that framework from this commit')
    return mode
