"""d2l_local against the released d2l package, on the first chapter's MXNet
DenseNet: the same model code, data, budget and initial weights, trained once
with upstream's `Trainer` and `FashionMNIST` and once with ours.

    make env-reference
    .venv/d2l-reference/bin/python bench/upstream_d2l.py            # the issue's budget
    .venv/d2l-reference/bin/python bench/upstream_d2l.py --examples 6000 --seeds 0

One epoch over the training images at 32x32, batch 128, lr 0.01; then both
models are scored by the same plain loop on the same test images, each
resized by its own pipeline (Gluon's Resize for upstream, d2l_local's for
ours: a model scored on the other's pixels loses a few points). Prints
seconds per epoch and val accuracy per seed and their means, and the ratio.

Fairness, stated: upstream's Gluon `FashionMNIST` reads the same IDX files
(Debian recompressed them, so their SHA-1 does not match Gluon's list and
Gluon would try to download them: the check is pointed at the files this
script has verified with d2l_local's reader instead); upstream's progress
board redraws through IPython's display at every plotted point, which in a
plain script only prints text, so both boards are switched off; `init_cnn`
(which upstream's MXNet module lacks) is given to upstream too, so both
start from the same weights and only the training machinery differs.
"""
import argparse
import ast
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as onp  # noqa: E402
from mxnet import autograd, gluon, np, npx  # noqa: E402
from mxnet.gluon import utils as gluon_utils  # noqa: E402
from mxnet.gluon.data.vision import transforms  # noqa: E402

import d2l as upstream_package  # noqa: E402
from d2l import mxnet as upstream  # noqa: E402
from d2l_local import mxnet as ours  # noqa: E402
from d2l_local import shared  # noqa: E402
from bookbuild.source import read_chapter  # noqa: E402

IMAGE_SIZE, BATCH_SIZE, LR = 32, 128, 0.01


def chapter_model_classes(d2l):
    """The chapter's MXNet DenseNet classes, defined against `d2l`: only
    the cells' function and class definitions run (no demo, no training)."""
    namespace = {'np': np, 'npx': npx, 'nn': gluon.nn, 'd2l': d2l}
    chapter = read_chapter(ROOT / 'chapters' / 'densenet.md',
                           check_front_matter=False)
    for cell in chapter.code_cells('mxnet'):
        if 'answer' in cell.tags:
            continue
        tree = ast.parse(cell.source)
        tree.body = [node for node in tree.body
                     if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
        exec(compile(tree, f'{chapter.path}:{cell.code_line}', 'exec'),
             namespace)
    return namespace['DenseNet']


def verified_gluon_root(folder):
    """A folder with the four IDX files, checked by d2l_local's reader."""
    for train in (True, False):
        shared.load_fashion_mnist(train)  # format and checksum, or raise
    for name in shared.FASHION_MNIST_FILES:
        shutil.copy(shared.locate_fashion_mnist_file(name), folder / name)
    verified = {str(folder / name) for name in shared.FASHION_MNIST_FILES}
    # Gluon's download() skips a file that exists with the right SHA-1.
    real_check = gluon_utils.check_sha1
    gluon_utils.check_sha1 = lambda path, sha1: (str(path) in verified
                                                 or real_check(path, sha1))
    # Upstream reads Gluon's dataset from its default root: this folder.
    init = gluon.data.vision.FashionMNIST.__init__
    init.__defaults__ = (str(folder),) + init.__defaults__[1:]
    return folder


def test_images(count):
    images, labels = shared.load_fashion_mnist(train=False)
    X = shared.resize_images(images[:count].astype('float32') / 255,
                             (IMAGE_SIZE, IMAGE_SIZE))[:, None]
    return X, labels[:count]


def upstream_test_images(count, root):
    """The test images as upstream's pipeline prepares them (Gluon's
    Resize and ToTensor): each model is scored on the pixels it trained on,
    so neither pays for the other's resizing."""
    trans = transforms.Compose([transforms.Resize((IMAGE_SIZE, IMAGE_SIZE)),
                                transforms.ToTensor()])
    dataset = gluon.data.vision.FashionMNIST(
        root=str(root), train=False).take(count).transform_first(trans)
    X, y = zip(*(dataset[i] for i in range(len(dataset))))
    return onp.stack([x.asnumpy() for x in X]), onp.array(y).astype(int)


def accuracy(model, X, y):
    correct = 0
    with autograd.predict_mode():
        for i in range(0, len(y), 500):
            logits = model(np.array(X[i:i + 500]))
            correct += int((logits.argmax(axis=1).asnumpy().astype(int)
                            == y[i:i + 500]).sum())
    return correct / len(y)


def run_upstream(DenseNet, seed, examples, root):
    ours.set_seed(seed)
    data = upstream.FashionMNIST(batch_size=BATCH_SIZE,
                                 resize=(IMAGE_SIZE, IMAGE_SIZE))
    # Upstream's own pipeline (per-image Resize and ToTensor, worker
    # processes), over the first `examples` images.
    trans = transforms.Compose([transforms.Resize((IMAGE_SIZE, IMAGE_SIZE)),
                                transforms.ToTensor()])
    data.train = gluon.data.vision.FashionMNIST(
        root=str(root), train=True).take(examples).transform_first(trans)
    data.val = gluon.data.vision.FashionMNIST(
        root=str(root), train=False).take(BATCH_SIZE).transform_first(trans)
    model = DenseNet(lr=LR)
    model.board.display = False
    trainer = upstream.Trainer(max_epochs=1)
    start = time.perf_counter()
    trainer.fit(model, data)
    npx.waitall()
    return model, time.perf_counter() - start


def run_ours(DenseNet, seed, examples):
    ours.set_seed(seed)
    data = ours.FashionMNIST(batch_size=BATCH_SIZE,
                             resize=(IMAGE_SIZE, IMAGE_SIZE))
    data.train = tuple(a[:examples] for a in data.train)
    data.val = tuple(a[:BATCH_SIZE] for a in data.val)
    model = DenseNet(lr=LR)
    model.board.display = False
    trainer = ours.Trainer(max_epochs=1)
    start = time.perf_counter()
    trainer.fit(model, data)
    npx.waitall()
    return model, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--examples', type=int, default=60_000)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--test-images', type=int, default=10_000)
    args = parser.parse_args(argv)
    os.environ['D2L_MODE'] = 'full'  # ours must not cap the data
    upstream.init_cnn = ours.init_cnn
    classes = {'upstream': chapter_model_classes(upstream),
               'd2l_local': chapter_model_classes(ours)}
    test = {'d2l_local': test_images(args.test_images)}
    y = test['d2l_local'][1]
    print(f'd2l {upstream_package.__version__} vs d2l_local: MXNet DenseNet, '
          f'1 epoch of {args.examples:,} images at {IMAGE_SIZE}x{IMAGE_SIZE}, '
          f'batch {BATCH_SIZE}, lr {LR}; accuracy on {len(y):,} test images')
    rows = {'upstream': [], 'd2l_local': []}
    with tempfile.TemporaryDirectory() as tmp:
        root = verified_gluon_root(pathlib.Path(tmp))
        test['upstream'] = upstream_test_images(args.test_images, root)
        assert (test['upstream'][1] == y).all(), 'test labels differ'
        for seed in args.seeds:
            for name in ('upstream', 'd2l_local'):
                if name == 'upstream':
                    model, seconds = run_upstream(classes[name], seed,
                                                  args.examples, root)
                else:
                    model, seconds = run_ours(classes[name], seed,
                                              args.examples)
                acc = accuracy(model, *test[name])
                rows[name].append((seconds, acc))
                print(f'seed {seed} {name:<9} {seconds:8.1f} s/epoch  '
                      f'val acc {acc:.3f}', flush=True)
    mean = {n: (statistics.mean(s for s, _ in r),
                statistics.mean(a for _, a in r)) for n, r in rows.items()}
    for name, (seconds, acc) in mean.items():
        print(f'mean   {name:<9} {seconds:8.1f} s/epoch  val acc {acc:.3f}')
    print(f'd2l_local is {mean["upstream"][0] / mean["d2l_local"][0]:.2f}x '
          f'faster; val acc difference '
          f'{mean["d2l_local"][1] - mean["upstream"][1]:+.3f}')


if __name__ == '__main__':
    main()
