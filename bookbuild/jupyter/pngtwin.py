"""PNG twins of the chapters' SVG diagrams, for JupyterLab.

JupyterLab draws a markdown cell's image attachment only as PNG, JPEG or GIF
(an SVG attachment shows its alt text), while the HTML keeps the sharp SVG.
So each `chapters/img/NAME.svg` has a committed `NAME.png` beside it, which
records the SHA-256 of the SVG it was drawn from in a PNG text chunk: split
attaches both and refuses a stale or missing twin, naming the file.

    python -m bookbuild.jupyter.pngtwin [SVG ...]   # (re)draw twins (make figures)

Drawing uses Debian's Chromium through Playwright (the browser tests' set-up);
checking needs only the standard library.
"""
import hashlib
import pathlib
import re
import struct
import sys
import zlib

from bookbuild.errors import BookError

SOURCE_KEY = 'd2l-source-sha256'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
CHROMIUM = '/usr/bin/chromium'
# Twice the SVG's size: sharp on high-density screens, small enough to attach.
SCALE = 2


class TwinError(BookError, ValueError):
    pass


def twin_path(svg_path):
    return pathlib.Path(svg_path).with_suffix('.png')


def svg_digest(svg_path):
    return hashlib.sha256(pathlib.Path(svg_path).read_bytes()).hexdigest()


def png_chunks(data):
    """(type, payload) of each chunk of PNG bytes."""
    if not data.startswith(PNG_SIGNATURE):
        raise TwinError('not a PNG file')
    pos, chunks = len(PNG_SIGNATURE), []
    while pos + 8 <= len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        chunks.append((kind.decode('latin-1'),
                       data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def recorded_digest(png_path):
    """The SVG digest a twin records, or None."""
    for kind, payload in png_chunks(pathlib.Path(png_path).read_bytes()):
        if kind == 'tEXt' and b'\0' in payload:
            key, value = payload.split(b'\0', 1)
            if key.decode('latin-1') == SOURCE_KEY:
                return value.decode('latin-1')
    return None


def with_text_chunk(data, key, value):
    """PNG bytes with a tEXt chunk key=value right after the header."""
    payload = key.encode('latin-1') + b'\0' + value.encode('latin-1')
    chunk = (struct.pack('>I', len(payload)) + b'tEXt' + payload +
             struct.pack('>I', zlib.crc32(b'tEXt' + payload)))
    header_end = len(PNG_SIGNATURE) + 8 + 13 + 4  # the IHDR chunk
    return data[:header_end] + chunk + data[header_end:]


def check_twin(svg_path):
    """The PNG twin of `svg_path`; TwinError if it is missing or was drawn
    from another version of the SVG."""
    png = twin_path(svg_path)
    fix = f'draw it again: make figures (python -m bookbuild.jupyter.pngtwin {svg_path})'
    if not png.is_file():
        raise TwinError(f'{svg_path} has no PNG twin {png.name} for '
                        f'JupyterLab; {fix}')
    if recorded_digest(png) != svg_digest(svg_path):
        raise TwinError(f'{png} was drawn from another version of '
                        f'{pathlib.Path(svg_path).name}; {fix}')
    return png


def svg_size(svg_text, path):
    match = re.search(r'<svg\b[^>]*?\bwidth="([\d.]+)(?:px)?"[^>]*?'
                      r'\bheight="([\d.]+)(?:px)?"', svg_text, re.S)
    if not match:
        raise TwinError(f'{path}: the <svg> element needs width and height '
                        'in pixels to be drawn as PNG')
    return round(float(match[1])), round(float(match[2]))


def draw_twins(svg_paths):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=['--no-sandbox', '--disable-gpu',
                  '--disable-background-networking',
                  '--disable-component-update', '--no-first-run'])
        try:
            for svg in svg_paths:
                svg = pathlib.Path(svg)
                width, height = svg_size(svg.read_text(), svg)
                page = browser.new_page(
                    viewport={'width': width, 'height': height},
                    device_scale_factor=SCALE)
                page.goto(svg.resolve().as_uri())
                # White, not transparent: dark JupyterLab themes would hide
                # the diagram's dark strokes.
                image = page.screenshot(omit_background=False)
                page.close()
                twin_path(svg).write_bytes(
                    with_text_chunk(image, SOURCE_KEY, svg_digest(svg)))
                print(f'drew {twin_path(svg)} ({width * SCALE}x'
                      f'{height * SCALE})')
        finally:
            browser.close()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = pathlib.Path(__file__).resolve().parents[2]
    paths = [pathlib.Path(a) for a in argv] or \
        sorted((root / 'chapters').rglob('*.svg'))
    draw_twins(paths)
    return 0


if __name__ == '__main__':
    sys.exit(main())
