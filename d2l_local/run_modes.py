"""The run modes: their names, what each caps, and what each means on the
page, defined once.

The chapters read them through d2l_local (`d2l.run_mode()`), the build
through `python -m bookbuild html --mode` and the page's run banner. This
module imports the standard library only: the build's environment imports
it without a framework, every framework environment without the build.
"""
import dataclasses
import os

MODE_VARIABLE = 'D2L_MODE'


def N_(text):
    """Marks the page's words for the build's catalogs (locales/templates/
    book.pot, bookbuild.i18n.catalogs); the page translates them."""
    return text


@dataclasses.dataclass(frozen=True)
class RunMode:
    """How much of what the chapter code asks for actually runs.

    `None` means "no cap": the chapter's own value is used. `meaning` is
    what the page's run banner says of outputs produced in this mode.
    """
    name: str
    max_epochs: int | None
    train_examples: int | None
    val_examples: int | None
    max_image_size: int | None
    meaning: str = ''

    def describe(self):
        if self.name == 'full':
            return 'run mode: full (what the text says: no caps)'
        caps = [f'at most {self.max_epochs} epoch(s)',
                f'{_count(self.train_examples)} training and '
                f'{_count(self.val_examples)} validation examples',
                f'images at most {self.max_image_size}x{self.max_image_size}']
        return f'run mode: {self.name} (' + ', '.join(caps) + ')'

    def cap_epochs(self, epochs):
        return epochs if self.max_epochs is None else min(epochs,
                                                          self.max_epochs)

    def cap_examples(self, count, train):
        cap = self.train_examples if train else self.val_examples
        return count if cap is None else min(count, cap)

    def pick(self, **choices):
        """The chapter's choice for this mode, e.g. `pick(full=(100, 10),
        quick=(16, 1), smoke=(10, 1))`: for what the caps do not shrink (a
        network's depth) or not enough (the epochs of a costly model), written
        in the cell, so that the reader sees what each mode runs."""
        if self.name not in choices:
            raise ValueError(f'run_mode().pick({", ".join(choices)}): no '
                             f'choice for the run mode {self.name!r}')
        return choices[self.name]

    def cap_image_size(self, size):
        """Shrink an (h, w) resize target to the mode's limit, keeping ratio."""
        h, w = size
        limit = self.max_image_size
        if limit is None or max(h, w) <= limit:
            return (h, w)
        scale = limit / max(h, w)
        return (max(1, round(h * scale)), max(1, round(w * scale)))


def _count(cap):
    return 'all' if cap is None else f'{cap:,}'


RUN_MODES = {
    # What the chapter text says.
    'full': RunMode('full', None, None, None, None, N_(
        'the code ran exactly as written, as the text describes')),
    # A short CPU run that still learns: a few minutes per framework. It
    # validates on the whole test set, so that the accuracies the page
    # compares across tabs are measured to about +-0.004 (one standard
    # error on 10,000 images; on 2,000 it would be about +-0.009).
    'quick': RunMode('quick', 4, 12_000, None, 32, N_(
        'a short CPU run (a subset of the data, fewer epochs, smaller '
        'images): the model learns, but the numbers fall short of what the '
        'text describes')),
    # A handful of batches: proves every cell runs, learns nothing.
    'smoke': RunMode('smoke', 1, 384, 256, 32, N_(
        'a few batches only, to check that every line runs: the numbers are '
        'not meaningful')),
}


def run_mode(gpu_found=False):
    """The mode named by $D2L_MODE, else `full` with a GPU and `quick`
    without. `gpu_found` may be a function, asked only when $D2L_MODE is
    unset (the build's look for a GPU starts a program)."""
    name = os.environ.get(MODE_VARIABLE, '').strip().lower()
    if not name:
        found = gpu_found() if callable(gpu_found) else gpu_found
        name = 'full' if found else 'quick'
    if name not in RUN_MODES:
        raise ValueError(
            f'{MODE_VARIABLE}={os.environ[MODE_VARIABLE]!r} is not a run mode; '
            f'choose one of {", ".join(RUN_MODES)}')
    return RUN_MODES[name]
