"""The four tabs side by side: after a tab group whose cells train a model,
a small table of each framework's final figures, read from the Trainer's
closing line in that framework's outputs.

A shared cell cannot show this (it runs in one framework's kernel); the page
can, since the merged chapter holds every framework's outputs. The tabs start
from the same weights and see the same batches (d2l_local), so the table is
a comparison of one experiment run four times.
"""
import html

from bookbuild import FRAMEWORK_LABELS, FRAMEWORKS
from bookbuild.i18n.furniture import gettext as _
from d2l_local.training_summary import read_summaries


def _text(outputs):
    return '\n'.join(o.get('text', '') for o in outputs
                     if o.get('output_type') == 'stream')


def final_figures(cells):
    """{framework: {figure: str}} from the last Trainer summary each
    framework printed in `cells` (merged cells of one tab group)."""
    found = {}
    for cell in cells:
        outputs = cell.metadata.get('d2l_book', {}).get('outputs', {})
        for framework, outs in outputs.items():
            # A regression's summary has no accuracy to compare.
            summaries = [s for s in read_summaries(_text(outs))
                         if s['val_acc']]
            if summaries:
                found[framework] = summaries[-1]
    return found


def figures_table(cells):
    """An HTML table of the frameworks' final figures, or '' when fewer
    than two frameworks trained in `cells`."""
    found = final_figures(cells)
    if len(found) < 2:
        return ''
    rows = []
    for framework in FRAMEWORKS:
        if framework not in found:
            continue
        f = found[framework]
        rows.append(
            f'<tr data-framework="{framework}"><th scope="row">'
            f'{html.escape(FRAMEWORK_LABELS[framework])}</th>'
            f'<td>{f["epochs"]}</td><td>{f["train_loss"]}</td>'
            f'<td>{f["val_loss"]}</td><td>{f["val_acc"]}</td>'
            f'<td>{f["per_epoch"]}</td></tr>')
    caption = _('The four tabs side by side: the same model from the same '
                'initial weights on the same batches')
    columns = [_('framework'), _('epochs'), _('train loss'), _('val loss'),
               _('val acc'), _('s/epoch')]
    head = ''.join(f'<th scope="col">{html.escape(c)}</th>' for c in columns)
    # wrapped like every table, so a phone scrolls it rather than the page
    return (f'<div class="table-wrap"><table class="final-figures"><caption>'
            f'{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>'
            '<tbody>' + ''.join(rows) + '</tbody></table></div>')
