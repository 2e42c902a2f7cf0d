"""A book of two small chapters with labelled figures, equations and a
section, references within and across them, and citations of a small
BibTeX file: split, "executed" (outputs written in, no kernel starts) and
merged as the English build leaves them. For test_references and the
browser's reference tests."""
import textwrap

from bookbuild.cli import Layout
from bookbuild.jupyter import pngtwin
from chapter_fixture import FRONT_MATTER, code, tiny_png
from edition_fixture import DIAGRAM
from kernel_free import run_without_kernels

# The toc puts "alpha" before "beta": chapters 1 and 2 of the book.
ALPHA = FRONT_MATTER + textwrap.dedent("""
    # Alpha

    An unlabelled figure comes first:

    ![The first block.](img/block.svg)

    (fig-a2)=
    ![The second block.](img/block.svg)

    $$ y = x + f(x) $$ (eq-a)

    See {numref}`fig-a2` and {eq}`eq-a`, and the next chapter's
    {numref}`Figure %s <fig-b1>`.

    """) + code(None, "print('alpha')")

BETA = FRONT_MATTER + textwrap.dedent("""
    # Beta

    (sec-b)=
    ## Growing

    (fig-b1)=
    ![A block of the second chapter.](img/block.svg)

    $$
    c_0 + Lk
    $$ (eq-b)

    {numref}`Figure %s shows <fig-b1>` the block; {eq}`eq-b` counts its
    channels, as {eq}`eq-a` of {numref}`fig-a2`'s chapter does, in
    {numref}`sec-b`. DenseNet {cite:p}`huang2017densely` follows
    {cite:t}`he2016deep,he2016identity`.

    """) + code(None, "print('beta')")

BIB = textwrap.dedent("""\
    @inproceedings{huang2017densely,
      author = {Huang, Gao and Liu, Zhuang and van der Maaten, Laurens and Weinberger, Kilian Q.},
      title = {Densely Connected Convolutional Networks},
      booktitle = {Proceedings of the {IEEE} Conference on Computer Vision and Pattern Recognition ({CVPR})},
      pages = {4700--4708},
      year = {2017},
    }
    @inproceedings{he2016deep,
      author = {He, Kaiming and Zhang, Xiangyu and Ren, Shaoqing and Sun, Jian},
      title = {Deep Residual Learning for Image Recognition},
      booktitle = {Proceedings of the {IEEE} Conference on Computer Vision and Pattern Recognition ({CVPR})},
      pages = {770--778},
      year = {2016},
    }
    @inproceedings{he2016identity,
      author = {He, Kaiming and Zhang, Xiangyu and Ren, Shaoqing and Sun, Jian},
      title = {Identity Mappings in Deep Residual Networks},
      booktitle = {Computer Vision -- {ECCV} 2016},
      pages = {630--645},
      year = {2016},
    }
    @inproceedings{ioffe2015batch,
      author = {Ioffe, Sergey and Szegedy, Christian},
      title = {Batch Normalization},
      booktitle = {Proceedings of the 32nd International Conference on Machine Learning ({ICML})},
      year = {2015},
    }
    """)


def write_chapter(layout, name, text):
    """Split, 'execute' (PyTorch only, outputs written in) and merge one
    chapter, as the English build leaves it. Returns the merged path."""
    path = layout.root / 'chapters' / f'{name}.md'
    path.write_text(text)
    return run_without_kernels(layout, path, ['pytorch'],
                               output=lambda framework: f'{name}\n')


def write_reference_book(tmp_path):
    """The two chapters and the bibliography; (layout, merged paths)."""
    (tmp_path / 'chapters' / 'img').mkdir(parents=True)
    svg = tmp_path / 'chapters' / 'img' / 'block.svg'
    svg.write_text(DIAGRAM)
    pngtwin.twin_path(svg).write_bytes(pngtwin.with_text_chunk(
        tiny_png(), pngtwin.SOURCE_KEY, pngtwin.svg_digest(svg)))
    (tmp_path / 'chapters' / 'references.bib').write_text(BIB)
    (tmp_path / 'chapters' / 'toc.yml').write_text(
        'chapters:\n  - alpha\n  - beta\n')
    layout = Layout(tmp_path / 'build', tmp_path)
    merged = [write_chapter(layout, 'alpha', ALPHA),
              write_chapter(layout, 'beta', BETA)]
    return layout, merged
