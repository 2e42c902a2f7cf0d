"""The small chapter the build suites run through the pipeline, and the
PNG its diagrams' twins can be."""
import pathlib
import struct
import textwrap
import zlib

from bookbuild import FRAMEWORKS
from bookbuild.jupyter import pngtwin

FRONT_MATTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def code(tag, source):
    opts = f':tags: [{tag}]\n\n' if tag else ''
    return f'```{{code-cell}} ipython3\n{opts}{source}\n```\n'


def tab_group(sources):
    """One cell per framework; `sources` maps framework -> code."""
    return '\n'.join(code(fw, sources[fw]) for fw in FRAMEWORKS)


def fixture_chapter_text():
    group = tab_group({fw: f"NAME = {fw!r}\nprint('hello from', NAME)"
                       for fw in FRAMEWORKS})
    group2 = tab_group({fw: f'print(len(NAME) * {i})'
                        for i, fw in enumerate(FRAMEWORKS, 1)})
    return FRONT_MATTER + textwrap.dedent("""
        # A Small Chapter

        Some prose with math $a^2 + b^2 = c^2$.

        """) + group + textwrap.dedent("""
        +++

        A shared cell runs in every framework:

        """) + code(None, "import os\nprint('mode', os.environ.get('D2L_MODE'))") + \
        '\n+++\n\nAnd a second group.\n\n' + group2


ROOT = pathlib.Path(__file__).resolve().parents[2]


def tiny_png():
    """A valid 1x1 PNG, built by hand."""
    def chunk(kind, payload):
        return (struct.pack('>I', len(payload)) + kind + payload +
                struct.pack('>I', zlib.crc32(kind + payload)))
    return (pngtwin.PNG_SIGNATURE +
            chunk(b'IHDR', struct.pack('>IIBBBBB', 1, 1, 8, 2, 0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(b'\0\xff\xff\xff')) +
            chunk(b'IEND', b''))
