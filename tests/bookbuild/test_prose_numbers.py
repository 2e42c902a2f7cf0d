"""No measured number typed by hand: the prose of every chapter (answers
included) refers to what a cell measured with {glue}`name`, and never types
a figure of the kinds the book measures.

The rule. In the prose, outside code, link targets and {glue} references,
a sentence may not hold a *measured-looking figure*:

- a ratio: a number followed by x, × or \\times (1.5x, 0.48x, $4\\times$,
  but not 3x3 or $96\\times 96$), or by "times" (2.5 times, three times);
- an amount of memory or time: a number with MiB, GiB, MB, GB, KiB, kB,
  bytes, s, ms, seconds, minutes, %, percent or metres (m);
- a throughput: a number of examples (or images, steps) per second;
- an accuracy, loss or ratio written as a decimal below one with two
  significant digits or more (0.89, 0.165; a setting such as 0.01 or 0.9
  passes);
- a count with thousands separators (758,226), unless it is round
  (12,000 is a setting: the run mode's training subset);
- millions (0.8M, 20 million).

A figure from the literature passes when its sentence names its source:
an author-year citation (Pleiss et al., 2017), "the paper", or the library
that publishes it ("the count torchvision publishes"; "the published
figure" names nobody), or a {cite} role. Anything else that must
stay typed (arithmetic the reader can redo) is listed in ALLOWED with the
reason, per chapter; an entry that no longer matches fails too.
"""
import pathlib
import re

import pytest

from bookbuild import glue
from bookbuild.files import display_path
from bookbuild.source import read_chapter

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / 'chapters').glob('*.md'))

NUMBER = r'(?<![\w.,-])\d+(?:\.\d+)?'
SPELLED = (r'(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|'
           r'fifteen|twenty|thirty|forty|fifty|hundred)')
MEASURED = [
    ('ratio', re.compile(rf'{NUMBER}\s*(?:x|×|\\times)(?![\w\d])'
                         r'(?!\s*\d)')),
    ('ratio', re.compile(rf'(?:{NUMBER}|\b{SPELLED})\s+times\b', re.I)),
    ('memory or time', re.compile(
        rf'{NUMBER}\s*(?:[KMG]i?B|kB|bytes?|s|ms|µs|seconds?|minutes?|hours?|'
        r'%|percent|m)(?![\w])')),
    ('throughput', re.compile(rf'{NUMBER}(?:,\d{{3}})*\s+(?:training\s+)?'
                              r'(?:examples|images|steps)\s*(?:/\s*s\b|'
                              r'per\s+second)')),
    ('accuracy, loss or ratio', re.compile(
        r'(?<![\w.,])0?\.(?:0*)[1-9]\d+(?![\w.])')),
    ('count', re.compile(r'(?<![\w.,])\d{1,3}(?:,\d{3})*,(?!000(?![\d,]))'
                         r'\d{3}(?![\d,])')),
    ('millions', re.compile(rf'{NUMBER}\s*(?:M|million)\b')),
]
# A named source: an author-year citation, the paper, or a library that
# publishes the figure ("the count torchvision publishes"); "the published
# figure" alone names nobody.
SOURCE = re.compile(
    r'et al\.|\b(?:19|20)\d\d\b|\bpaper\b'
    r"|\b(?:torchvision|Keras|PyTorch|TensorFlow|JAX|Flax|MXNet)(?:'s)?"
    r'\s+(?:\w+\s+)?publish'
    # a repository named by its address is a source too
    r'|github\.com/[\w.-]+/[\w.-]+'
    # a citation of chapters/references.bib ({cite:t}`huang2017densely`)
    r'|\{cite(?::[pt])?\}`[^`]+`')
# Figures a chapter may type although they look measured: each with why.
ALLOWED = {
    'densenet.md': [
        ('about 75 m east-west by 90 m north-south',
         'arithmetic on the data set: three arc-seconds of longitude and '
         'latitude at 36 degrees north'),
        ('Keras and Flax default to 0.99',
         "a library's default setting, read in its source, not a measurement"),
        ('four times fewer multiplications',
         'arithmetic: 2x2 pooling leaves a quarter of the pixels'),
        # Figures that compare the four frameworks, which no cell can measure
        # (each kernel runs one): bench/throughput.py's, named in the
        # sentence, with the run in bench/README.md.
        ('at 789 training examples per second in JAX',
         "bench/throughput.py's figure (bench/README.md)"),
        ('1,099 to 1,516 in the other three',
         "bench/throughput.py's figures (bench/README.md)"),
        ('JAX validated 3,415 examples per second, against 4,799 to 5,020',
         "bench/throughput.py's figures (bench/README.md)"),
        # Each tab without d2l_local's CPU choice, in the same run
        # (--without-cpu-choices).
        ('677 examples per second at',
         "bench/throughput.py's figure without d2l_local's compiler options "
         '(bench/README.md)'),
        ('59 examples per second',
         "bench/throughput.py's figures (bench/README.md)"),
        ('one core (741 examples per second against 1,257 on both)',
         "bench/throughput.py's figures (bench/README.md)"),
        ('1,516 examples per second against 1,276 in NCHW',
         "bench/throughput.py's figures (bench/README.md)"),
        ('144 examples per second against 113',
         "bench/throughput.py's figures (bench/README.md)"),
        ('18 s of CPU time in an earlier run of the bench',
         "bench/throughput.py's figure (bench/README.md)"),
        ("tabs' ten epochs took 2.5 and 1.7 hours",
         'the headline runs of full mode on the CPU (bench/README.md)'),
        ('loads it in about 2 s',
         "bench/throughput.py's figure (bench/README.md)"),
    ],
    'densenet-memory.md': [
        # Training both variants in MXNet takes more than a cell of the
        # quick build may spend: bench/throughput.py's figure, named in the
        # sentence, with the run in bench/README.md.
        ('at 1.16 times the CPU time per example of its naive',
         "bench/throughput.py's figure (bench/README.md)"),
        # A library's kernel choice, measured outside the chapter's code.
        ('at 1.6 to 3.9 times PyTorch\'s time for the growth convolutions',
         "bench/growth_convolution.py's figures (bench/README.md)"),
        ('at 215 examples per second, and TensorFlow at 440',
         "bench/throughput.py's figures (bench/README.md)"),
    ],
}
# What is not prose: code spans and roles (INLINE), link and image
# targets, autolinks and bare URLs, HTML tags, MyST targets.
NOT_PROSE = re.compile(
    r'\]\([^)]*\)|<[a-z][^>]*>|</[a-z]+>|https?://\S+|^\([\w-]+\)=$',
    re.M | re.I)
SENTENCE_END = re.compile(r'(?<=[.!?])(?<!\bal\.)(?<!\be\.g\.)'
                          r'(?<!\bi\.e\.)\s+(?=[A-Z(\[*$])|\n\s*\n')


def blank(text, start, end, fill=' '):
    return text[:start] + re.sub(r'[^\n]', fill, text[start:end]) + text[end:]


def prose_of(source):
    """The markdown with everything but prose blanked out, at the same
    offsets (lines stay where they are)."""
    text = glue._prose_only(source)
    for match in list(glue.INLINE.finditer(text)):
        if match['role'] == glue.ROLE:
            # a word, so that a number before it is not read with a unit
            # after it ("ResNet-18 {glue}`kept` MiB")
            text = blank(text, match.start(), match.end(), 'V')
        elif match['code'] or match['role'] in ('ref', 'numref', 'doc', 'eq'):
            text = blank(text, match.start(), match.end())
    for match in list(NOT_PROSE.finditer(text)):
        text = blank(text, match.start(), match.end())
    return text


def sentences(source):
    """(offset, sentence) of the prose of a markdown source."""
    text, start = prose_of(source), 0
    for end in [m.start() for m in SENTENCE_END.finditer(text)] + [len(text)]:
        if text[start:end].strip():
            yield start, text[start:end]
        start = end


def typed_figures(source):
    """(offset, kind, figure, sentence) of each measured-looking figure
    whose sentence names no source."""
    found = []
    for offset, sentence in sentences(source):
        hits, taken = sorted(((m.start(), -m.end(), kind)
                              for kind, pattern in MEASURED
                              for m in pattern.finditer(sentence))), 0
        for start, end, kind in hits:
            end = -end
            if start < taken:  # one figure, one report ('0.165 s')
                continue
            taken = end
            if SOURCE.search(blank(sentence, start, end)):
                continue
            # White space folded, as in the sentence: a figure may wrap.
            found.append((offset + start, kind,
                          ' '.join(sentence[start:end].split()),
                          ' '.join(sentence.split())))
    return found


def chapter_figures(path):
    """'file:line: kind 'figure' typed in "sentence"' for each typed figure
    of a chapter's prose that ALLOWED does not excuse, and the ALLOWED
    snippets that excused one."""
    allowed = [snippet for snippet, _ in ALLOWED.get(path.name, [])]
    problems, used = [], set()
    for cell in read_chapter(path).cells:
        if cell.kind != 'markdown':
            continue
        for offset, kind, figure, sentence in typed_figures(cell.source):
            excused = [snippet for snippet in allowed
                       if figure in snippet and snippet in sentence]
            if excused:
                used.update(excused)
                continue
            line = cell.line + cell.source.count('\n', 0, offset)
            problems.append(f'{display_path(path, ROOT)}:{line}: {kind} '
                            f'{figure!r} typed in "{sentence[:160]}"')
    return problems, used


# ---------------------------------------------------------------- the rule

@pytest.mark.parametrize('text', [
    'the bytes kept fall to 0.44x (JAX), 0.48x (PyTorch) of the naive model',
    'the step takes $1.5\\times$ as long',
    'which costs about three times the naive step\'s time',
    'it is 2.5 times faster here',
    'about 15 MiB of copied weights',
    'memory down to 1.605 GB per minibatch',
    'at 0.165 s per minibatch',
    'each epoch takes 41 seconds',
    'the run took 2.5 hours',
    'a validation accuracy of 0.89 after ten epochs',
    'the loss ends at .34',
    'the model has 758,226 parameters',
    'it processes 1,234 examples per second',
    'it processes 1,234 examples per\nsecond',  # wrapped
    'an RMSE of 162.5 m',
    'a gap of 12.5% in accuracy',
    'BC-100 has 0.8M parameters',
    'the published anchor is 2.863 GB of peak memory, at 0.165 s',
])
def test_the_rule_catches_a_typed_measurement(text):
    assert typed_figures(text), text


@pytest.mark.parametrize('text', [
    'a $3\\times 3$ convolution, a 3x3 one, images of $96\\times 96$',
    'a learning rate of 0.01, momentum 0.9 and $\\epsilon = 10^{-5}$',
    'four blocks of 6, 12, 24, 16 layers with growth rate 32',
    'four epochs on 12,000 images at $32\\times 32$',
    'the model has {glue}`num_parameters` parameters',
    'ResNet-18 {glue}`resnet_kept_mib` MiB and DenseNet-121 at 32x32',
    'the cell prints `0.891` and `758,226`',
    'see [the paper](https://arxiv.org/abs/1608.06993) and MXNet 1.9',
    'for about 15 to 20 percent more computation (Pleiss et al., 2017)',
    'the paper rounds BC-100 to 0.8M parameters',
    'for about 15 to 20 percent more time {cite:p}`pleiss2017memory`',
    '{cite:t}`huang2017densely` round BC-100 to 0.8M parameters',
    'DenseNet-121 has 7,978,856 parameters, the count torchvision publishes',
    '```python\nprint(0.891, "15 MiB")\n```',
])
def test_the_rule_lets_settings_code_and_cited_figures_pass(text):
    assert typed_figures(text) == []


def test_a_typed_figure_is_named_with_its_line(tmp_path):
    chapter = tmp_path / 'typed.md'
    chapter.write_text('# A Chapter\n\nThe first line.\nIt reached 0.891\n'
                       'on the validation set.\n')
    problems, _ = chapter_figures(chapter)
    assert problems == [
        f'{chapter}:4: accuracy, loss or ratio \'0.891\' typed in "It '
        'reached 0.891 on the validation set."']


# ---------------------------------------------------------------- chapters

@pytest.mark.parametrize('chapter', CHAPTERS, ids=lambda p: p.name)
def test_the_prose_types_no_figure_the_book_measures(chapter):
    problems, _ = chapter_figures(chapter)
    assert not problems, (
        'a measured figure typed in the prose: record it in the cell that '
        'measures it, d2l.glue(name, value, fmt), and write {glue}`name`; '
        'a figure from the literature names its source in its sentence\n'
        + '\n'.join(problems))


@pytest.mark.parametrize('name', sorted(ALLOWED))
def test_every_allowed_figure_is_still_in_its_chapter(name):
    _, used = chapter_figures(ROOT / 'chapters' / name)
    stale = [snippet for snippet, _ in ALLOWED[name] if snippet not in used]
    assert not stale, f'ALLOWED lists figures {name} no longer types: {stale}'
