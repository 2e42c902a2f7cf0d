"""The command line: the whole build (`html`), the notebooks alone, or the
catalogs.

    python -m bookbuild html                   # split, execute, merge, render
    python -m bookbuild execute --frameworks jax
                                               # split, execute (a CI job's share)
    python -m bookbuild assemble RUN_DIR...    # merge, render the outputs of
                                               # several builds, executing nothing
    python -m bookbuild notebooks              # split only (for Jupyter)
    python -m bookbuild translations [--new-language vi]
                                               # update locales/ from the chapters
    python -m bookbuild pdf [--framework jax] [--language vi]
                                               # the built HTML as a PDF per
                                               # framework (executes nothing)

Paths default to chapters/ in, build/ out.
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys

from bookbuild import FRAMEWORKS
from bookbuild.errors import BookError
from bookbuild.files import blocking_file, display_path

from bookbuild.progress import Progress
from bookbuild.render.common import MAX_OUTPUT_LINES
from d2l_local.run_modes import RUN_MODES, run_mode
from bookbuild.toc import book_chapters

ROOT = pathlib.Path(__file__).resolve().parent.parent
# What the kernels' environments compute on; each has its own lock files
# (requirements/<framework>.txt and <framework>-cuda.txt), see the Makefile.
ACCELERATORS = ('cpu', 'cuda')


class BuildError(BookError, RuntimeError):
    pass


def default_mode():
    """$D2L_MODE, else `full` where a GPU answers, else `quick`."""
    try:
        return run_mode(gpu_found=nvidia_gpu_listed).name
    except ValueError as e:
        raise BuildError(str(e)) from e


def nvidia_gpu_listed():
    smi = shutil.which('nvidia-smi')
    return bool(smi) and subprocess.run(
        [smi, '-L'], capture_output=True).returncode == 0


def default_accel():
    """$D2L_ACCEL (the Makefile's ACCEL), else `cpu`."""
    accel = os.environ.get('D2L_ACCEL', '').strip().lower() or 'cpu'
    if accel not in ACCELERATORS:
        raise BuildError(f'D2L_ACCEL={accel!r} is not an accelerator; choose '
                         f'one of {", ".join(ACCELERATORS)}')
    return accel


class Layout:
    """Where each stage reads and writes, under one build directory."""

    def __init__(self, build_dir, root=ROOT, accel='cpu'):
        self.root = pathlib.Path(root)
        self.accel = accel
        self.build = pathlib.Path(build_dir)
        self.notebooks = self.build / 'notebooks'
        self.executed = self.build / 'executed'
        self.cache = self.build / 'cache'
        self.merged = self.build / 'merged'
        self.html = self.build / 'html'
        self.editions = self.build / 'editions'
        self.library = self.root / 'd2l_local'
        self.locales = self.root / 'locales'

    def lock_file(self, framework, accel=None):
        """The lock file of the environment the framework's kernel runs in
        (on `accel`, default the build's): it keys the cache, so CPU and
        GPU outputs are kept apart."""
        accel = accel or self.accel
        suffix = '' if accel == 'cpu' else f'-{accel}'
        path = self.root / 'requirements' / f'{framework}{suffix}.txt'
        if not path.is_file():
            raise BuildError(f'{path}: no lock file for {framework} on '
                             f'{accel}')
        return path

    def check_directories(self, *folders):
        """Each folder the build writes into is a directory or can become
        one: found before hours of execution, not as a traceback after."""
        for folder in folders:
            blocker = blocking_file(folder)
            if blocker is not None:
                raise BuildError(not_a_directory(blocker, folder,
                                                 self.build))

    def chapters(self, names=None):
        folder = self.root / 'chapters'
        if names:
            paths = [pathlib.Path(n) if pathlib.Path(n).suffix == '.md'
                     else folder / f'{n}.md' for n in names]
        else:
            paths = book_chapters(folder)
        for p in paths:
            if not p.is_file():
                raise BuildError(f'{p}: no such chapter')
        return paths


def not_a_directory(blocker, wanted, build_dir):
    """The one-line message for a file where the build needs a directory."""
    blocker, wanted, build_dir = map(pathlib.Path,
                                     (blocker, wanted, build_dir))
    if blocker == build_dir:
        return (f'{blocker}: not a directory; --build-dir must name a '
                'directory or a path where one can be made')
    if blocker in build_dir.parents:
        return (f'{blocker}: not a directory, so the build directory '
                f'{build_dir} cannot be made there; choose another '
                '--build-dir')
    purpose = '' if wanted == blocker else f' (for {wanted})'
    remedy = ' or choose another --build-dir' \
        if build_dir in blocker.parents else ''
    return (f'{blocker}: not a directory, but the build makes a directory '
            f'there{purpose}; move the file away{remedy}')


def build_notebooks(layout, chapters, frameworks, progress):
    from bookbuild.split import split_chapter
    result = {}
    for chapter in chapters:
        result[chapter] = split_chapter(chapter, layout.notebooks, frameworks)
        # A chapter may be named by a path outside the book.
        progress.say(f'split {display_path(chapter, layout.root)} -> '
                     f'{len(result[chapter])} notebooks')
    return result


def check_references(layout, chapters):
    """The chapters' cross-references and citations resolve: a dangling
    one stops the build before hours of execution, with its file and line
    (the render checks them again, for the English and each edition)."""
    from bookbuild import bibliography, crossref
    from bookbuild.source import read_chapter
    known = book_chapters(layout.root / 'chapters')
    book = crossref.Book.of(known + [
        c for c in chapters
        if c.resolve() not in {k.resolve() for k in known}])
    for path in chapters:
        chapter = read_chapter(path)
        crossref.check_references(chapter, book)
        bibliography.check_citations(
            chapter, bibliography.bibliography_of(path.parent))


def execute_chapters(layout, chapters, frameworks, mode, cell_timeout,
                     progress):
    """Split and execute: {chapter: {framework: executed notebook}}, what a
    framework job of the workflow uploads (executed/, with run records)."""
    from bookbuild.execute import execute_notebook

    check_references(layout, chapters)
    if mode == 'full' and layout.accel == 'cpu':
        # Hours of training on a CPU: say how many before starting, and go
        # on (no question: CI has no terminal to answer it).
        from bookbuild.estimate import announce
        announce(layout.root, frameworks, progress.say)
    split = build_notebooks(layout, chapters, frameworks, progress)
    executed = {}
    for chapter, notebooks in split.items():
        executed[chapter] = {}
        for fw, nb_path in notebooks.items():
            out = layout.executed / nb_path.name
            run = execute_notebook(
                nb_path, out, mode, lock_file=layout.lock_file(fw),
                library_dir=layout.library, cache_dir=layout.cache,
                cell_timeout=cell_timeout, progress=progress,
                accel=layout.accel)
            how = ('cached (code unchanged)' if run['cached'] else
                   f'executed in {run["seconds"]:.1f} s')
            progress.say(f'{chapter.stem}/{fw}: {how} [{mode}]')
            executed[chapter][fw] = out
    return executed


def build_html(layout, chapters, frameworks, mode, cell_timeout, progress,
               max_output_lines=MAX_OUTPUT_LINES):
    executed = execute_chapters(layout, chapters, frameworks, mode,
                                cell_timeout, progress)
    return render_html(layout, executed, progress, max_output_lines)


def assemble_book(layout, chapters, frameworks, run_dirs, mode, progress,
                  max_output_lines=MAX_OUTPUT_LINES):
    """The book from the executed notebooks of several framework builds
    (`run_dirs`), executing nothing: every input is checked against this
    checkout (bookbuild.assemble) before anything is written."""
    from bookbuild.assemble import check_outputs, find_outputs
    from bookbuild.files import copy_atomically

    found = find_outputs(run_dirs, [c.stem for c in chapters], frameworks)
    mode = check_outputs(layout, chapters, frameworks, found, mode)
    layout.check_directories(layout.executed, layout.merged, layout.html,
                             layout.editions)
    executed = {}
    for chapter in chapters:
        executed[chapter] = {}
        for fw in frameworks:
            source = found[chapter.stem, fw]
            out = layout.executed / source.name
            if source.resolve() != out.resolve():
                copy_atomically(source, out)
            executed[chapter][fw] = out
        progress.say(f'{chapter.stem}: the outputs of '
                     f'{", ".join(frameworks)} checked [{mode}]')
    return render_html(layout, executed, progress, max_output_lines)


def render_html(layout, executed, progress, max_output_lines=MAX_OUTPUT_LINES):
    """Merge and render every edition from {chapter: {framework: executed
    notebook}}."""
    from bookbuild.merge import merge_chapter
    from bookbuild.render.book import render_book

    merged = []
    for chapter, notebooks in executed.items():
        merged_path = layout.merged / f'{chapter.stem}.ipynb'
        merge_chapter(chapter, notebooks, merged_path)
        merged.append(merged_path)
    from bookbuild.i18n import catalogs
    from bookbuild.editions import edition_of
    languages = ['en'] + catalogs.languages(layout.locales)
    pages = render_book(merged, layout.html, layout.root, layout.executed,
                        edition=edition_of('en', languages),
                        max_output_lines=max_output_lines)
    progress.say(f'rendered {len(pages)} pages into {layout.html}')
    for language in languages[1:]:
        pages += build_edition(layout, language, merged, languages, progress,
                               max_output_lines)
    return pages


def build_edition(layout, language, merged, languages, progress,
                  max_output_lines=MAX_OUTPUT_LINES):
    """A translated edition from the English build's merged chapters and
    executed notebooks: it renders, and executes nothing."""
    import time
    from bookbuild.i18n import catalogs
    from bookbuild.editions import render_edition
    start = time.perf_counter()
    pages, translators = render_edition(
        language, merged, layout.executed, layout.root, layout.locales,
        layout.editions, layout.html, languages, max_output_lines)
    seconds = time.perf_counter() - start
    progress.say(f'rendered the {language} edition ({len(pages)} pages) into '
                 f'{layout.html / language} in {seconds:.1f} s, executing '
                 'nothing')
    for name, translator in translators.items():
        progress.say(f'  {language} {name}: '
                     f'{translator.coverage.describe()}')
        for msgid, problem in translator.problems:
            progress.say(f'  {translator.where(msgid, layout.root)}: '
                         f'warning: the translation of {catalogs.shorten(msgid)} '
                         f'{problem}; shown in English')
    return pages


def build_pdfs(layout, frameworks, languages, progress):
    """build/pdf/<language>/book-<framework>.pdf from the built HTML."""
    import time
    from bookbuild.render import pdf
    languages, frameworks = pdf.plan(layout.html, frameworks, languages,
                                     layout.root)
    with pdf.chromium() as browser:
        for language in languages:
            for framework in frameworks:
                start = time.perf_counter()
                target = pdf.pdf_path(layout.build / 'pdf', language, 'book',
                                      framework)
                pdf.write_pdf(layout.html, framework, target, language,
                              layout.root, browser)
                progress.say(f'wrote {display_path(target, layout.root)} '
                             f'({target.stat().st_size / 1e6:.1f} MB) in '
                             f'{time.perf_counter() - start:.1f} s')


def update_translations(layout, chapters, new_languages, progress):
    from bookbuild.i18n import catalogs
    from bookbuild.source import read_chapter
    written = catalogs.update_catalogs([read_chapter(c) for c in chapters],
                                   layout.root, layout.locales, new_languages)
    for path in written:
        progress.say(f'wrote {path.relative_to(layout.root)}')
    for language in catalogs.languages(layout.locales):
        for chapter in chapters:
            catalog = catalogs.read_catalog(
                catalogs.catalog_path(layout.locales, language, chapter.stem),
                language)
            where = catalogs.catalog_path(layout.locales, language,
                                      chapter.stem).relative_to(layout.root)
            translator = catalogs.chapter_coverage(read_chapter(chapter), catalog,
                                               where)
            progress.say(f'{language} {chapter.stem}: '
                         f'{translator.coverage.describe()}')
            for line in catalogs.to_translate(catalog, where):
                progress.say(f'  {line}')
            # What the edition would refuse, with the reason: a lost
            # placeholder, added markup, a block broken in its place.
            for msgid, problem in translator.problems:
                progress.say(f'  {translator.where(msgid)}: the translation '
                             f'of {catalogs.shorten(msgid)} {problem}')
        path = catalogs.catalog_path(layout.locales, language, catalogs.FURNITURE)
        if path.is_file():
            for line in catalogs.catalog_problems(
                    catalogs.read_catalog(path, language),
                    path.relative_to(layout.root), format_fields=True):
                progress.say(f'  {line}')


def line_count(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a number of lines (0 or more; 0: no limit)')
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='python -m bookbuild',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('command', choices=('html', 'execute', 'assemble',
                                            'notebooks', 'translations',
                                            'pdf'))
    parser.add_argument('chapters', nargs='*',
                        help='chapter names or .md paths (default: all); '
                        'assemble: the run directories (build directories '
                        'of framework builds, or their downloaded '
                        'artifacts), and every chapter is assembled')
    parser.add_argument('--frameworks', default=','.join(FRAMEWORKS),
                        help='comma-separated subset of ' +
                        ', '.join(FRAMEWORKS))
    parser.add_argument('--mode', choices=tuple(RUN_MODES),
                        help='run mode (default: $D2L_MODE, else full with a '
                        'GPU, quick without; assemble: every input\'s mode '
                        'must be this one, default the first input\'s)')
    parser.add_argument('--accel', choices=ACCELERATORS,
                        help='what the kernels compute on, which picks the '
                        'lock files keying the cache (default: $D2L_ACCEL, '
                        'else cpu)')
    parser.add_argument('--build-dir', default=str(ROOT / 'build'))
    parser.add_argument('--root', default=str(ROOT),
                        help='the book: chapters/, d2l_local/, requirements/')
    parser.add_argument('--new-language', action='append', default=[],
                        help='translations: start catalogs for this language '
                        '(e.g. vi)')
    parser.add_argument('--framework', action='append', default=[],
                        choices=FRAMEWORKS,
                        help='pdf: the framework to print (repeatable; '
                        'default: every framework with outputs in the build)')
    parser.add_argument('--language', action='append', default=[],
                        help='pdf: the edition to print (repeatable; '
                        'default: every edition built)')
    parser.add_argument('--cell-timeout', type=int, default=1800,
                        help='seconds one cell may run (default 1800)')
    parser.add_argument('--max-output-lines', type=line_count,
                        default=MAX_OUTPUT_LINES, metavar='N',
                        help='a longer output stream shows its first and '
                        f'last lines on the page (default {MAX_OUTPUT_LINES};'
                        ' 0: every line); the notebooks keep them all')
    # Chapter names may come before, between or after the options.
    return parser.parse_intermixed_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    progress = Progress()
    try:
        frameworks = [f.strip() for f in args.frameworks.split(',') if f]
        unknown = [f for f in frameworks if f not in FRAMEWORKS]
        if unknown:
            raise BuildError(f'unknown framework {unknown[0]!r}; choose from '
                             f'{", ".join(FRAMEWORKS)}')
        layout = Layout(args.build_dir, args.root,
                        args.accel or default_accel())
        if args.command == 'assemble':
            if not args.chapters:
                raise BuildError('assemble: name the run directories (one '
                                 'per framework build) to assemble')
            layout.check_directories(layout.executed, layout.merged,
                                     layout.html, layout.editions)
            assemble_book(layout, layout.chapters(), frameworks,
                          args.chapters, args.mode, progress,
                          args.max_output_lines)
            return 0
        chapters = layout.chapters(args.chapters)
        if args.command == 'notebooks':
            layout.check_directories(layout.notebooks)
            build_notebooks(layout, chapters, frameworks, progress)
        elif args.command == 'translations':
            update_translations(layout, chapters, args.new_language, progress)
        elif args.command == 'pdf':
            layout.check_directories(layout.build / 'pdf')
            build_pdfs(layout, args.framework, args.language, progress)
        elif args.command == 'execute':
            layout.check_directories(layout.notebooks, layout.executed,
                                     layout.cache)
            execute_chapters(layout, chapters, frameworks,
                             args.mode or default_mode(), args.cell_timeout,
                             progress)
        else:
            mode = args.mode or default_mode()
            layout.check_directories(
                layout.notebooks, layout.executed, layout.cache,
                layout.merged, layout.html, layout.editions)
            build_html(layout, chapters, frameworks, mode, args.cell_timeout,
                       progress, args.max_output_lines)
    except BookError as e:
        progress.done()
        print(f'error: {e}', file=sys.stderr)
        return 1
    except (NotADirectoryError, FileExistsError) as e:
        # A file deeper down where the build makes a directory (mkdir
        # raises FileExistsError for a file in the way).
        progress.done()
        blocker = blocking_file(e.filename) if e.filename else None
        if blocker is None:
            raise
        message = not_a_directory(blocker, e.filename, args.build_dir)
        print(f'error: {message}', file=sys.stderr)
        return 1
    return 0
