"""The words inside SVG diagrams (bookbuild.i18n.diagrams): which are prose,
where they are, and a translation that changes nothing else."""
import textwrap
import xml.etree.ElementTree as ElementTree

import pytest

from bookbuild.i18n import diagrams
from bookbuild.source import read_chapter
from chapter_fixture import FRONT_MATTER

SVG = textwrap.dedent("""\
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 40">
      <title>not drawn: left alone</title>
      <text x="1" y="9">maps:</text>
      <text x="1" y="19">c<tspan dy="3">0</tspan><tspan dy="-3"> + 2k</tspan></text>
      <text x="1" y="29">each layer H<tspan dy="3">i</tspan> adds k channels</text>
      <text x="1" y="39">ResNet</text>
    </svg>
    """)


@pytest.mark.parametrize('text, prose', [
    ('maps:', True), ('layer f', True), ('add: channel count unchanged', True),
    ('ResNet', False), ('DenseNet', False), ('x + f(x)', False),
    (' + 2k', False), ('[x, f(x)]', False), ('H', False)])
def test_prose_is_a_lower_case_word_of_three_letters(text, prose):
    assert diagrams.is_prose(text) is prose


def test_labels_are_found_with_their_line_and_element():
    found = diagrams.diagram_texts(SVG)
    assert [(t.text, t.line) for t in found] == [
        ('maps:', 3), ('each layer H', 5), ('adds k channels', 5)]
    assert found[2].element == 'each layer Hi adds k channels'


def test_a_translation_changes_the_words_only():
    vi = {'maps:': 'ánh xạ:', 'each layer H': 'mỗi tầng H',
          'adds k channels': 'thêm k kênh <mới> & hơn'}
    out = diagrams.translate_svg(SVG, vi.get)
    assert out == SVG.replace('>maps:<', '>ánh xạ:<').replace(
        '>each layer H<', '>mỗi tầng H<').replace(
        '> adds k channels<', '> thêm k kênh &lt;mới&gt; &amp; hơn<')
    # Nothing translated: the same text, byte for byte.
    assert diagrams.translate_svg(SVG, lambda text: None) == SVG


def test_a_label_is_text_whatever_the_lookup_returns():
    """Even a lookup without the catalog's checks adds no element or
    attribute, and no character that would make the file unreadable."""
    hostile = {'maps:': '</text><script>alert(1)</script><text onclick="x">',
               'each layer H': 'mỗi\x08tầng',
               'adds k channels': ']]><!-- &amp; <![CDATA['}
    out = diagrams.translate_svg(SVG, hostile.get)

    def markup(svg):
        return [(e.tag, sorted(e.attrib.items()))
                for e in ElementTree.fromstring(svg).iter()]
    assert markup(out) == markup(SVG)
    assert '>&lt;/text&gt;&lt;script&gt;alert(1)' in out
    assert '>each layer H<' in out      # kept English
    assert ']]><!-- &amp; <![CDATA[' in ''.join(
        ElementTree.fromstring(out).itertext())


def test_a_chapter_s_diagrams_are_its_local_svg_images(tmp_path):
    (tmp_path / 'img').mkdir()
    (tmp_path / 'img' / 'a.svg').write_text(SVG)
    (tmp_path / 'img' / 'b.png').write_bytes(b'')
    chapter = tmp_path / 'c.md'
    chapter.write_text(FRONT_MATTER + textwrap.dedent("""
        # C

        ![A.](img/a.svg) and again ![A.](img/a.svg "title")

        ![B.](img/b.png) ![Far.](https://example.org/x.svg)
        ![Up.](../x.svg) ![Gone.](img/missing.svg)
        """))
    assert diagrams.chapter_diagrams(read_chapter(chapter)) == {
        'img/a.svg': tmp_path / 'img' / 'a.svg'}
