"""d2l_local for PyTorch: `from d2l_local import torch as d2l`.

The PyTorch half of the small d2l-style library the chapters import. Models
are ordinary `torch.nn.Module`s (lazy layers welcome), optimizers are
`torch.optim` optimizers, and the Trainer is the loop a PyTorch user writes by
hand, plus plotting and a per-epoch log that cost no extra host syncs.
What does not depend on PyTorch (run modes, the IDX files, the progress
board, hyperparameter capture) comes from `d2l_local.shared`.

Inside this module `torch` is the real PyTorch: absolute imports make the
package's own `d2l_local.torch` unable to shadow it.
"""
import copy
import statistics
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from d2l_local import shared

__all__ = ['HyperParameters', 'ProgressBoard', 'Module', 'Classifier',
           'DataModule', 'FashionMNIST', 'Trainer', 'add_to_class',
           'init_cnn', 'cpu', 'gpu', 'num_gpus', 'try_gpu', 'set_seed',
           'run_mode', 'measure_kept_bytes', 'measure_training_step',
           'glue']

HyperParameters = shared.HyperParameters
ProgressBoard = shared.ProgressBoard


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

class Module(nn.Module, HyperParameters):
    """The base class of the chapters' models: an `nn.Module` that knows its
    loss, its optimizer, and how to plot its progress."""

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()
        # label -> (x values, detached loss tensors) awaiting one plotted point
        self._plot_buffer = {}

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X):
        assert hasattr(self, 'net'), 'Neural network is not defined'
        return self.net(X)

    def plot(self, key, value, train):
        """Plot a metric at x = fractional epoch, like the d2l book: train
        points every num_train_batches / plot_train_per_epoch batches (their
        mean); validation points once per epoch, where the Trainer passes the
        epoch's figure over all validation examples.

        Values stay on the device until a plotted point is complete, so
        plotting costs one host sync per point, not one per step.
        """
        trainer = getattr(self, 'trainer', None)
        if trainer is None:  # a step called by hand, outside Trainer.fit
            return
        if train:
            x = trainer.train_batch_idx / trainer.num_train_batches
            n = trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x, n = trainer.epoch + 1, 1
        label = ('train_' if train else 'val_') + key
        xs, ys = self._plot_buffer.setdefault(label, ([], []))
        xs.append(x)
        ys.append(value.detach() if torch.is_tensor(value)
                  else torch.tensor(float(value)))
        if len(ys) >= max(1, int(n)):
            y = torch.stack([v.float() for v in ys]).mean().item()
            self.board.draw(sum(xs) / len(xs), y, label)
            xs.clear()
            ys.clear()

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot('loss', l, train=True)
        return l

    def validation_step(self, batch):
        """Metrics of one batch in eval mode, as a dict of batch means; the
        Trainer turns them into the epoch's figures, plots and logs them."""
        return {'loss': self.loss(self(*batch[:-1]), batch[-1])}

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def _dry_run(self, *inputs):
        """A forward pass that changes nothing but lazy layers' shapes: eval
        mode so BatchNorm keeps its running statistics, no autograd graph."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return self(*inputs)
        finally:
            self.train(was_training)

    def _zeros(self, X_shape):
        # On the device of the materialised parameters, if any.
        device = next((p.device for p in self.parameters()
                       if not nn.parameter.is_lazy(p)), cpu())
        return torch.zeros(X_shape, device=device)

    def apply_init(self, inputs, init=None):
        """Materialise lazy layers with `inputs`, then apply `init` to every
        layer in order (`init_cnn`: the same weights as the other tabs)."""
        self._dry_run(*inputs)
        if init is not None:
            shared.restart_weight_draws()
            self.net.apply(init)

    def layer_summary(self, X_shape):
        """Print and return each top-level layer of `self.net` with the
        output shape it gives for a zero input of `X_shape` (NCHW)."""
        X = self._zeros(X_shape)
        rows = []
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                for layer in self.net:
                    X = layer(X)
                    name, shape = layer.__class__.__name__, tuple(X.shape)
                    print(f'{name:<16} output shape: {shape}')
                    rows.append((name, shape))
        finally:
            self.train(was_training)
        return rows

    def count_parameters(self, X_shape):
        """Trainable parameters once the model has seen an input of X_shape."""
        self._dry_run(self._zeros(X_shape))
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class Classifier(Module):
    """A Module whose loss is cross-entropy and that also reports accuracy."""

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        return {'loss': self.loss(Y_hat, batch[-1]),
                'acc': self.accuracy(Y_hat, batch[-1])}

    def accuracy(self, Y_hat, Y, averaged=True):
        """The fraction of correct predictions (kept as a tensor: no sync)."""
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        compare = (Y_hat.argmax(dim=1) == Y.reshape(-1)).float()
        return compare.mean() if averaged else compare

    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        return F.cross_entropy(Y_hat, Y.reshape(-1),
                               reduction='mean' if averaged else 'none')


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

class DataModule(shared.DataModule):
    """The base class of data: `get_dataloader(train)` gives the batches
    (`shared.DataModule`), here as PyTorch tensors."""

    def _run_mode(self):
        return run_mode()

    def _convert(self, array):
        return torch.as_tensor(array)


class FashionMNIST(shared.FashionMNIST, DataModule):
    """Fashion-MNIST from its real IDX files, as NCHW float32 images in
    [0, 1] and int64 labels (what `F.cross_entropy` takes), cut to the run
    mode's caps (`shared.FashionMNIST`)."""

    def _prepare(self, batch):
        """One batch: resized bilinearly by the shared numpy code (the same
        pixels as in the other frameworks; torchvision's Resize on tensors
        gives them too), the channel axis added, labels as int64."""
        X, y = batch
        X = shared.resize_images(X, self.resize)
        return X[:, None], y.astype(np.int64)

    def visualize(self, batch, nrows=1, ncols=8, labels=[]):
        X, y = batch
        if not labels:
            labels = self.text_labels(y)
        # Nothing returned: in Jupyter the figure is the cell's only output.
        shared.show_images(X.squeeze(1).numpy(), nrows, ncols, titles=labels)



# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

class Trainer(shared.Trainer):
    """Trains a Module on a DataModule: the usual PyTorch loop
    (`shared.Trainer.fit` runs the epochs).

    Per step it does what a hand-written loop does (forward, backward,
    optional clipping, step) and keeps the epoch's metrics as device tensors;
    the host reads them once per plotted point and once per epoch.
    """

    def _run_mode(self):
        return run_mode()

    def _device(self):
        """The device to train on, and a line saying which and why."""
        found = num_gpus()
        if self.num_gpus > 0 and found > 0:
            device = gpu(0)
            return device, (f'device: GPU {device} '
                            f'({torch.cuda.get_device_name(device)})')
        if self.num_gpus > 0:
            return cpu(), (f'device: CPU (asked for {self.num_gpus} GPU(s), '
                           'none found)')
        return cpu(), 'device: CPU'

    def _reset_peak_memory(self, device):
        if device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(device)

    def _peak_memory(self, device):
        """The fit's peak memory: the GPU's tensors, or the whole process."""
        if device.type == 'cuda':
            return shared.memory_line(torch.cuda.max_memory_allocated(device),
                                      f'tensors on GPU {device}')
        return shared.host_memory_line()

    def prepare_model(self, model):
        model.trainer = self
        model._plot_buffer = {}
        model.board.xlim = [0, self.epochs]
        if any(nn.parameter.is_lazy(p) for p in model.parameters()):
            # Lazy layers learn their shapes from a first batch; a validation
            # one, so that the training order stays as seeded.
            model._dry_run(*next(iter(self.val_dataloader))[:-1])
        self.model = model.to(self.device,
                              memory_format=_memory_format(self.device))
        self.optim = model.configure_optimizers()

    def _checkpoint_state(self):
        """What an interrupted fit resumes from (`shared.Trainer._resume`):
        parameters and buffers (BatchNorm's statistics), the optimizer's
        state, the points half-way to being plotted, and PyTorch's random
        streams (dropout)."""
        return {'model': self.model.state_dict(),
                'optim': self.optim.state_dict(),
                'plot_buffer': self.model._plot_buffer,
                'random': torch.get_rng_state(),
                'cuda_random': (torch.cuda.get_rng_state_all()
                                if torch.cuda.is_available() else None)}

    def _load_checkpoint_state(self, state):
        self.model.load_state_dict(state['model'])
        self.optim.load_state_dict(state['optim'])
        self.model._plot_buffer = state['plot_buffer']
        torch.set_rng_state(state['random'])
        if state['cuda_random'] is not None:
            torch.cuda.set_rng_state_all(state['cuda_random'])

    def prepare_batch(self, batch):
        return [_to_device(a, self.device) for a in batch]

    def fit_epoch(self):
        model = self.model
        model.train()
        losses, sizes = [], []
        for batch in self.train_dataloader:
            batch = self.prepare_batch(batch)
            loss = model.training_step(batch)
            self.optim.zero_grad(set_to_none=True)
            loss.backward()
            if self.gradient_clip_val > 0:
                self.clip_gradients(self.gradient_clip_val, model)
            self.optim.step()
            losses.append(loss.detach())
            sizes.append(len(batch[-1]))
            self.train_batch_idx += 1
        val = self._validate()
        # With the validation metrics, the epoch's only host sync.
        step_losses = torch.stack(losses).tolist() if losses else []
        self._end_epoch(step_losses, sizes, val)

    def _validate(self):
        """The validation metrics over all validation examples
        (`shared.validation_means`), the model in eval mode; the batches'
        means stay on the device until one read at the end."""
        model = self.model
        model.eval()
        metrics, sizes = [], []
        with torch.no_grad():
            for batch in self.val_dataloader:
                batch = self.prepare_batch(batch)
                metrics.append(model.validation_step(batch) or {})
                sizes.append(len(batch[-1]))
                self.val_batch_idx += 1
        names = list(metrics[0]) if metrics else []
        if not names:
            return {}
        rows = torch.stack([torch.stack([m[k].detach().float() for k in names])
                            for m in metrics]).tolist()
        return shared.validation_means([dict(zip(names, row)) for row in rows],
                                       sizes)

    def clip_gradients(self, grad_clip_val, model):
        """Rescale all gradients together so their global norm is at most
        `grad_clip_val` (no host sync)."""
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip_val)


add_to_class = shared.add_to_class


def init_cnn(module):
    """Xavier-uniform weights and zero biases for conv and dense layers.

    Use with `net.apply(init_cnn)` after lazy layers have been materialised
    (`model.apply_init(inputs, init_cnn)` does both). The weights come from
    `shared.canonical_weights`: after the same `set_seed`, the same model
    starts from the same weights in every framework.
    """
    if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        if nn.parameter.is_lazy(module.weight):
            raise RuntimeError(
                f'init_cnn: {module.__class__.__name__} has not seen an '
                'input yet; call model.apply_init([X], init_cnn) so lazy '
                'layers know their shapes first')
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(
                shared.canonical_weights(tuple(module.weight.shape))))
        if module.bias is not None:
            nn.init.zeros_(module.bias)


# --------------------------------------------------------------------------
# Devices, seeds, run mode
# --------------------------------------------------------------------------

def cpu():
    return torch.device('cpu')


def gpu(i=0):
    return torch.device(f'cuda:{i}')


def num_gpus():
    return torch.cuda.device_count()


def try_gpu(i=0):
    """The i-th GPU if there is one, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


def _memory_format(device):
    """The layout the Trainer and `measure_training_step` keep images and
    convolution weights in on `device`.

    On the CPU, channels-last (NHWC, the layout TensorFlow and XLA use), on
    which oneDNN's convolutions and PyTorch's BatchNorm run faster than on
    its default NCHW (`bench/README.md` has a profile of both): the
    first chapter's DenseNet trains 1.31-1.54x faster at 32x32 and
    1.22-1.41x at 96x96, the memory chapter's DenseNet-BC-16 1.36-1.55x
    (three runs of `bench/pytorch_layout.py`). Only the strides change:
    shapes, indexing and a chapter's code stay the same, and the values agree
    up to float rounding. On a GPU, where this was not measured, PyTorch's
    default."""
    return (torch.channels_last if device.type == 'cpu'
            else torch.preserve_format)


def _to_device(tensor, device):
    """`tensor` on `device`, a 4-D one (a batch of images) in the device's
    layout (`_memory_format`)."""
    if tensor.dim() == 4:
        return tensor.to(device, non_blocking=True,
                         memory_format=_memory_format(device))
    return tensor.to(device, non_blocking=True)


def set_seed(seed):
    """Seed Python, numpy and PyTorch (CPU and every GPU): a smoke run on
    CPU then repeats its numbers exactly."""
    shared.seed_python_and_numpy(seed)
    torch.manual_seed(seed)


def run_mode():
    """The active run mode: $D2L_MODE, else full with a GPU, quick without."""
    return shared.run_mode(num_gpus() > 0)


# --------------------------------------------------------------------------
# Memory of one training step
# --------------------------------------------------------------------------

def _saved_bytes_hooks(exclude):
    """saved_tensors_hooks that add up the bytes of every distinct storage
    autograd keeps for the backward pass, leaving out `exclude` (the
    parameters and the batch, which are held whatever the model does)."""
    seen = {t.untyped_storage().data_ptr() for t in exclude}
    total = [0]

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total[0] += storage.nbytes()
        return t
    return torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), total


def measure_kept_bytes(model, batch):
    """The bytes one training step of `model` on `batch` (X, y) keeps for its
    backward pass: `measure_training_step(model, batch).kept_bytes`. PyTorch
    counts them while a step runs, and an eager step costs no more than its
    arithmetic, so this is one measured step after one warm-up step."""
    return measure_training_step(model, batch, warmup=1, repeats=1).kept_bytes


def measure_training_step(model, batch, label='', warmup=1, repeats=3):
    """Peak memory, bytes kept for backward and time of one training step
    (forward, loss, backward, SGD update) of `model` on `batch` = (X, y), as
    a `shared.StepMemory` (medians of `repeats` steps after `warmup`).

    Kept: the distinct storages autograd saves for the backward pass
    (`saved_tensors_hooks`), parameters and batch left out; checkpointed
    regions count what checkpoint keeps (their inputs). Peak: above the
    memory held before the step; on a GPU PyTorch's allocator counter, on
    the CPU the process's (`shared.HostPeakMemory`). The model's weights
    and BatchNorm statistics are restored afterwards, so the variant
    measured first does not change what the second one sees. The step runs
    in the layout the Trainer trains in (`_memory_format`), to which `model`
    is moved in place."""
    X, y = batch
    if any(nn.parameter.is_lazy(p) for p in model.parameters()):
        model.apply_init([X])  # lazy layers learn their shapes first
    model.to(memory_format=_memory_format(X.device))
    X = _to_device(X, X.device)
    saved = copy.deepcopy(model.state_dict())
    model.train()
    optim = torch.optim.SGD(model.parameters(), lr=getattr(model, 'lr', 0.1))
    cuda = X.is_cuda

    def step(count_kept=False):
        kept = None
        if count_kept:
            hooks, kept = _saved_bytes_hooks([*model.parameters(), X, y])
            with hooks:
                loss = model.loss(model(X), y)
        else:
            loss = model.loss(model(X), y)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        del loss
        return kept and kept[0]

    for _ in range(warmup):
        step()
    kept = step(count_kept=True)
    peaks, times = [], []
    for _ in range(repeats):
        optim.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
            start = time.perf_counter()
            step()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
            peaks.append(torch.cuda.max_memory_allocated() - before)
        else:
            with shared.HostPeakMemory() as host:
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            peaks.append(host.peak_bytes)
    model.load_state_dict(saved)
    return shared.StepMemory(
        label, int(statistics.median(peaks)), kept,
        statistics.median(times),
        'torch.cuda.max_memory_allocated' if cuda
        else 'VmHWM (CPU, process)', 'saved_tensors_hooks')


# A value for the chapter's prose ({glue}`name`): framework-free.
glue = shared.glue
