"""The errors the build reports to an author as one line, `error: ...`,
rather than as a traceback (bookbuild.cli catches `BookError` once)."""


class BookError(Exception):
    """Bad input, or a stage that cannot go on: its message says what and
    where, and the command line prints it and exits with status 1."""


class LocatedError(BookError):
    """Bad input at a line of a file (a chapter, a catalog):
    `path:line: message`."""

    def __init__(self, path, line, message):
        self.path, self.line, self.message = path, line, message
        super().__init__(path, line, message)

    def __str__(self):
        return f'{self.path}:{self.line}: {self.message}'
