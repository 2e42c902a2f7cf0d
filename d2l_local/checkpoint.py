"""Checkpoints of the Trainers' fits, so that an interrupted long build
resumes (framework-free: each framework's Trainer hands over its state as
picklable objects).

The book's build names a directory in $D2L_CHECKPOINT_DIR for each notebook
it executes, keyed by everything the notebook's outputs depend on (its code
cells, d2l_local, the environment, the run mode: `bookbuild.execute`), so a
changed notebook never resumes from a stale checkpoint. Without the
variable (a learner in Jupyter, the tests) nothing is written.

The k-th fit a process runs saves to `fit-<k>.pkl` there after every epoch,
replacing the previous epoch's file atomically (written to a temporary file,
then renamed), so the file on disk is always a complete epoch. A rerun of the
same code runs the same fits in the same order, and the k-th one continues
after the last epoch its file holds. The files are kept when a fit ends: a
notebook killed in a later cell then skips this training altogether on its
rerun; the build removes the directory once the notebook has run to its end.
"""
import os
import pathlib
import pickle
import tempfile

DIRECTORY_VARIABLE = 'D2L_CHECKPOINT_DIR'
# Bump when what a checkpoint holds changes: older files are then ignored.
FORMAT = 1


class _Fits:
    """How many fits this process has started (numbers the files)."""
    started = 0


_fits = _Fits()


class CheckpointError(RuntimeError):
    """A checkpoint that does not belong to the fit that found it."""


class FitCheckpoint:
    """The checkpoint file of one fit: `load()` the last finished epoch's
    state, `save(state)` a newly finished one."""

    def __init__(self, path, fingerprint):
        self.path = pathlib.Path(path)
        self.fingerprint = fingerprint

    @classmethod
    def for_next_fit(cls, fingerprint):
        """The checkpoint of the fit that starts now, or None where the
        build asked for none. `fingerprint`: what must match for a saved
        state to be this fit's (model, epochs, batches)."""
        number = _fits.started
        _fits.started += 1
        directory = os.environ.get(DIRECTORY_VARIABLE)
        if not directory:
            return None
        return cls(pathlib.Path(directory) / f'fit-{number}.pkl', fingerprint)

    def load(self):
        """The saved state (a dict, its 'epochs' finished), or None."""
        if not self.path.exists():
            return None
        with open(self.path, 'rb') as f:
            saved = pickle.load(f)
        if saved.get('format') != FORMAT:
            return None
        if saved['fingerprint'] != self.fingerprint:
            raise CheckpointError(
                f'{self.path}: a checkpoint of another fit '
                f'({saved["fingerprint"]}, this one is {self.fingerprint}); '
                'the same code runs the same fits: remove the directory '
                f'${DIRECTORY_VARIABLE} names to start afresh')
        return saved

    def save(self, state):
        """Write `state` (a dict) as this fit's latest checkpoint: to a
        temporary file beside it, then renamed over the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = dict(state, format=FORMAT, fingerprint=self.fingerprint)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent,
                                         prefix=f'.{self.path.name}.')
        try:
            with os.fdopen(fd, 'wb') as f:
                pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            pathlib.Path(temporary).unlink(missing_ok=True)
            raise
