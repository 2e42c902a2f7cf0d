"""The page's side-by-side table of the four tabs' final figures."""
import nbformat

from bookbuild.render.figures_table import figures_table, final_figures

LINE = ('train loss {tl}, val loss 0.487, val acc {acc}; 4 epoch(s) in '
        '70.0 s (17.5 s/epoch); peak memory 1,081 MiB (the whole process)\n')


def trained_cell(results):
    cell = nbformat.v4.new_code_cell('trainer.fit(model, data)')
    cell.metadata['d2l_book'] = {'outputs': {
        fw: [nbformat.v4.new_output('stream', name='stdout', text=text)]
        for fw, text in results.items()}}
    return cell


def test_the_last_summary_line_of_each_framework_is_read():
    cell = trained_cell({
        'pytorch': 'run mode: quick\n' + LINE.format(tl='0.9', acc='0.700')
        + LINE.format(tl='0.361', acc='0.831'),
        'jax': LINE.format(tl='0.365', acc='0.829')})
    found = final_figures([cell])
    assert found['pytorch']['val_acc'] == '0.831'
    assert found['jax']['train_loss'] == '0.365'
    assert found['pytorch']['per_epoch'] == '17.5'


def test_a_table_in_the_book_order_with_every_framework_that_trained():
    table = figures_table([trained_cell({
        'tensorflow': LINE.format(tl='0.361', acc='0.831'),
        'mxnet': LINE.format(tl='0.370', acc='0.825')})])
    assert table.index('MXNet') < table.index('TensorFlow')
    assert '0.825' in table and '0.831' in table and 'PyTorch' not in table


def test_no_table_where_fewer_than_two_frameworks_trained():
    assert figures_table([trained_cell({'jax': 'no summary here\n'})]) == ''
    assert figures_table([trained_cell({
        'jax': LINE.format(tl='0.365', acc='0.829')})]) == ''
