"""What a long build is doing, on a terminal and in CI logs alike.

On a terminal one status line is rewritten in place; elsewhere (CI, a pipe)
each change is a plain line (optionally rate-limited by `min_interval`).
"""
import sys
import time


class Progress:
    def __init__(self, stream=None, min_interval=0.0):
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, 'isatty') and self.stream.isatty()
        self.min_interval = min_interval
        self.start = time.monotonic()
        self._last_plain = float('-inf')
        self._width = 0

    def elapsed(self):
        return time.monotonic() - self.start

    def update(self, message):
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
        if self.live and self._width:
            self.stream.write('\n')
            self.stream.flush()
            self._width = 0

    def say(self, message):
        """A line that always prints (stage starts, results)."""
        self.done()
        self.stream.write(f'[{self.elapsed():6.1f} s] {message}\n')
        self.stream.flush()
