"""The answer chapter (exercises answered with prose, a tab group and a
shared cell) for the answers' suite and the browser's answer page."""
from bookbuild import FRAMEWORKS
from bookbuild.merge import merge_chapter
from bookbuild.split import split_chapter
from chapter_fixture import FRONT_MATTER, code, tab_group

ANSWER = '+++ {"tags": ["answer"]}\n'


def answer_chapter_text():
    """Two exercises: the first answered with prose, a tab group (tagged
    answer) and a shared cell; the second with prose only; a third with
    none. A tab group before the exercises is no answer."""
    answer_group = '\n'.join(
        code(f'answer, {fw}', f"print('answer from {fw}')")
        for fw in FRAMEWORKS)
    return (FRONT_MATTER + '\n# Answered\n\nFirst some code.\n\n'
            + tab_group({fw: f"print('chapter {fw}')" for fw in FRAMEWORKS})
            + '\n## Exercises\n\n1. Why is the sky blue?\n'
            '    1. And the sea?\n\n'
            + ANSWER + '\nRayleigh scattering, measured in every framework:\n\n'
            + answer_group + '\nThe same everywhere:\n\n'
            + code('answer', "print('shared answer')")
            + '\nWhat the numbers show.\n\n+++\n\n'
            '2. Is two prime?\n\n' + ANSWER + '\nYes.\n\n+++\n\n'
            '3. An exercise left to the reader.\n')



def make_answer_book(root):
    """The answer chapter through split and merge, as render_book's
    arguments (the browser tests render it too)."""
    source = root / 'source' / 'chapters' / 'answered.md'
    source.parent.mkdir(parents=True)
    source.write_text(answer_chapter_text())
    notebooks = split_chapter(source, root / 'executed')
    merged = merge_chapter(source, notebooks,
                           root / 'merged' / 'answered.ipynb')
    return {'merged_paths': [merged], 'html_dir': root / 'html',
            'source_root': root / 'source', 'notebooks_dir': root / 'executed'}
