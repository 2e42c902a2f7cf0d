"""The book's order of chapters, asked in one place: the chapter numbers
of figures and equations ("Fig. 2.3"), the build and the index all follow
it. Today the chapters sort by name; a table of contents can take its
place here."""
import pathlib


def book_chapters(chapters_dir):
    """The chapter files of `chapters_dir`, in the book's order.

    By stem, so that a chapter comes before those that extend its name:
    densenet, then densenet-memory."""
    return sorted(pathlib.Path(chapters_dir).glob('*.md'),
                  key=lambda p: p.stem)
