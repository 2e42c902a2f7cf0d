"""What a long build is doing, on a terminal and in CI logs alike.

On a terminal one status line is rewritten in place; elsewhere (CI, a pipe)
each change is a plain line (optionally rate-limited by `min_interval`).
"""
import pathlib
import re
import sys
import threading
import time

# Terminal control sequences: colours (CSI ... m), cursor moves, titles.
ANSI_ESCAPE = re.compile(r'\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*'
                         r'(?:\x07|\x1b\\)|\x1b[@-Z\\-_]')


def is_terminal(stream):
    return hasattr(stream, 'isatty') and stream.isatty()


def for_stream(text, stream=None):
    """`text` (a kernel's coloured traceback, say) as `stream` (default:
    stderr) should get it: colours kept on a terminal, removed where they
    would land in a log as `[31m` noise."""
    return text if is_terminal(stream or sys.stderr) else \
        ANSI_ESCAPE.sub('', text)


class Progress:
    def __init__(self, stream=None, min_interval=0.0):
        self.stream = stream or sys.stderr
        self.live = is_terminal(self.stream)
        self.min_interval = min_interval
        self.start = time.monotonic()
        self._last_plain = float('-inf')
        self._width = 0
        # The tail of a kernel's progress file prints from its own thread.
        self._lock = threading.RLock()

    def elapsed(self):
        return time.monotonic() - self.start

    def update(self, message):
        with self._lock:
            self._update(message)

    def _update(self, message):
        text = f'[{self.elapsed():6.1f} s] {message}'
        if self.live:
            pad = max(0, self._width - len(text))
            self.stream.write('\r' + text + ' ' * pad)
            self._width = len(text)
            self.stream.flush()
        elif time.monotonic() - self._last_plain >= self.min_interval:
            self.stream.write(text + '\n')
            self.stream.flush()
            self._last_plain = time.monotonic()

    def done(self):
        with self._lock:
            self._done()

    def _done(self):
        if self.live and self._width:
            self.stream.write('\n')
            self.stream.flush()
            self._width = 0

    def say(self, message):
        """A line that always prints (stage starts, results)."""
        with self._lock:
            self._done()
            self.stream.write(f'[{self.elapsed():6.1f} s] {message}\n')
            self.stream.flush()


class FileTail:
    """Prints the lines a running kernel appends to a file (the Trainer's
    per-epoch lines, see d2l_local.shared.report_progress) as they come,
    each with a prefix naming the chapter and framework."""

    def __init__(self, path, progress, prefix, interval=0.5):
        self.path = pathlib.Path(path)
        self.progress, self.prefix = progress, prefix
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._offset = 0
        self._partial = ''

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text('')
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.poll()  # what came after the last poll
        self.path.unlink(missing_ok=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self):
        try:
            with open(self.path, encoding='utf-8', errors='replace') as f:
                f.seek(self._offset)
                text = f.read()
                self._offset = f.tell()
        except FileNotFoundError:
            return
        lines = (self._partial + text).split('\n')
        self._partial = lines.pop()  # a line still being written
        for line in lines:
            if line.strip():
                self.progress.say(f'{self.prefix}: {line}')
