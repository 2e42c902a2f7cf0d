"""d2l_local for MXNet 1.9 (Gluon): `from d2l_local import mxnet as d2l`.

The chapters' models are Gluon `HybridBlock`s written against MXNet's NumPy
interface (`from mxnet import np, npx; npx.set_np()`, as the d2l book's MXNet
tab does; this module switches it on at import). A `Module` is a plain
`gluon.Block` holding the network in `self.net`; the Trainer *hybridizes* the
model (`model.hybridize(static_alloc=True)`), which compiles every
HybridBlock inside it into one cached graph, then runs the usual Gluon loop:
`autograd.record()` (training mode: BatchNorm normalises with the batch's
statistics and updates its running averages), `backward()`,
`gluon.Trainer.step`. Images are NCHW.

MXNet executes asynchronously: Python only queues work. The Trainer keeps the
per-batch losses on the device and reads them only when it plots (twice an
epoch) and at the end of an epoch, so it adds no host sync per step.

The framework-free half (run modes, the Fashion-MNIST files, the progress
board, the per-epoch log) lives in `d2l_local.shared`.
"""
import os
import pathlib
import tempfile

import numpy as onp  # host-side numpy; `np` below is MXNet's NumPy interface

from d2l_local import omp_threads

# Before MXNet loads: it reads its CPU thread count only then, and halves the
# processor count unless told (see d2l_local/omp_threads.py).
omp_threads.give_mxnet_every_core()

from mxnet import autograd, context, gluon, init, np, npx

from d2l_local import shared

# The d2l book's MXNet code is written against the NumPy interface: arrays are
# `mxnet.numpy.ndarray`s and Gluon layers build `np` graphs.
npx.set_np()

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

# A plain Block (not a HybridBlock): in MXNet 1.x a HybridBlock must not
# override `forward` (it dispatches to `hybrid_forward`), and every d2l model
# defines `forward`. Hybridizing the Module still compiles `self.net` and
# every HybridBlock inside it; only the thin `forward` stays in Python.
class Module(gluon.Block, HyperParameters):
    """The base class of models: a network `self.net`, a loss, and the steps
    the Trainer runs."""

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X):
        assert hasattr(self, 'net'), 'Neural network is defined'
        if not getattr(self, '_shapes_known', False):
            self._start_weight_draws()
            self._shapes_known = True
        return self.net(X)

    def _start_weight_draws(self):
        """Gluon creates weights at the first call, layer by layer in the
        order of the forward pass; numbering init_cnn's draws from 0 there
        gives this model the same weights as the other tabs."""
        if any(p._deferred_init for p in self.collect_params().values()):
            shared.restart_weight_draws()

    def plot(self, key, value, train):
        """Draw one point at x = (fractional) epoch.

        The Trainer calls this with values already averaged on the device:
        `plot_train_per_epoch` train points and one validation point per
        epoch (the epoch's figure over all validation examples), so that
        plotting never forces a host sync per batch.
        """
        assert hasattr(self, 'trainer'), 'Trainer is not inited'
        if train:
            x = self.trainer.train_batch_idx / self.trainer.num_train_batches
        else:
            x = self.trainer.epoch + 1
        self.board.draw(x, float(value), ('train_' if train else 'val_') + key)

    def training_step(self, batch):
        """The loss of one batch. The Trainer calls it inside
        `autograd.record()`, i.e. in training mode: BatchNorm uses the
        batch's statistics and updates its running averages."""
        return self.loss(self(*batch[:-1]), batch[-1])

    def validation_step(self, batch):
        """Metrics of one batch in inference mode (outside
        `autograd.record()`), as a dict of batch means; the Trainer turns
        them into the epoch's figures, plots and logs them."""
        Y_hat = self(*batch[:-1])
        return {'loss': self.loss(Y_hat, batch[-1])}

    def configure_optimizers(self):
        return gluon.Trainer(self.collect_params(), 'sgd',
                             {'learning_rate': self.lr})

    def apply_init(self, X_shape=None, init=None):
        """(Re)initialise `self.net` with `init` (default: `init_cnn`); with
        `X_shape`, also materialise the weights with a zeros input of that
        shape (Gluon infers the input sizes of layers at the first call)."""
        self.net.initialize(init if init is not None else init_cnn,
                            ctx=self._device(), force_reinit=True)
        shared.restart_weight_draws()
        if X_shape is not None:
            self(np.zeros(X_shape, ctx=self._device()))

    def _device(self):
        """Where the parameters live (or will live, once shapes are known)."""
        for param in self.collect_params().values():
            if _initialised(param):
                return param.list_ctx()[0]
        return context.current_context()

    def layer_summary(self, X_shape):
        """Run a zeros input through the top-level layers of `self.net`,
        print each one's output shape, return [(class name, shape), ...]."""
        X = np.zeros(X_shape, ctx=self._device())
        self._start_weight_draws()
        rows = []
        for layer in self.net:
            X = layer(X)
            rows.append((type(layer).__name__, tuple(X.shape)))
            print(f'{rows[-1][0]:<16} output shape: {rows[-1][1]}')
        return rows

    def count_parameters(self, X_shape):
        """Trainable parameters, once a zeros input of `X_shape` has given
        every layer its shapes (BatchNorm's running statistics have
        grad_req='null': they are not trained)."""
        self(np.zeros(X_shape, ctx=self._device()))
        return sum(int(onp.prod(p.shape))
                   for p in self.collect_params().values()
                   if p.grad_req != 'null')


def _initialised(param):
    """Whether `initialize` was called (the data may still be deferred
    until the first call tells Gluon the shapes)."""
    try:
        param.list_ctx()
    except RuntimeError:
        return False
    return True


class Classifier(Module):
    """A Module with cross-entropy loss and accuracy."""

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        return {'loss': self.loss(Y_hat, batch[-1]),
                'acc': self.accuracy(Y_hat, batch[-1])}

    def accuracy(self, Y_hat, Y, averaged=True):
        """Fraction (or per-example 0/1) of correct predictions."""
        Y_hat = Y_hat.reshape(-1, Y_hat.shape[-1])
        preds = Y_hat.argmax(axis=1).astype(Y.dtype)
        compare = (preds == Y.reshape(-1)).astype('float32')
        return compare.mean() if averaged else compare

    def loss(self, Y_hat, Y, averaged=True):
        """Cross-entropy of logits `Y_hat` against integer labels `Y`."""
        Y_hat = Y_hat.reshape(-1, Y_hat.shape[-1])
        losses = -npx.pick(npx.log_softmax(Y_hat), Y.reshape(-1))
        return losses.mean() if averaged else losses


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

class DataModule(shared.DataModule):
    """The base class of data: loaders for training and validation
    (`shared.DataModule`), here as MXNet arrays on the CPU; the Trainer
    moves the batches to its device."""

    def _run_mode(self):
        return run_mode()

    def _convert(self, array):
        return np.array(array, dtype=array.dtype, ctx=cpu())


class FashionMNIST(shared.FashionMNIST, DataModule):
    """Fashion-MNIST from its real IDX files (`shared.FashionMNIST`), cut to
    the run mode's caps; batches are NCHW float32 in [0, 1] and int32 labels."""

    def _prepare(self, batch):
        """One batch: resized bilinearly by the shared numpy code (half-pixel
        centres, as torchvision's Resize on tensors; the same pixels as in
        the other frameworks), with the channel axis added."""
        X, y = batch
        return shared.resize_images(X, self.resize)[:, None], y

    def visualize(self, batch, nrows=1, ncols=8, labels=[]):
        X, y = batch
        if not labels:
            labels = self.text_labels(y.asnumpy())
        shared.show_images(X[:, 0].asnumpy(), nrows, ncols,
                           titles=labels)



# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

class Trainer(shared.Trainer):
    """Trains a Module on a DataModule: hybridized model, capped by the run
    mode (`shared.Trainer.fit` runs the epochs). `history` holds one dict
    per epoch (see `shared.TrainingLog`)."""

    # How many steps Python may queue ahead of the device. MXNet runs
    # asynchronously and nothing in the loop waits for a result, so without
    # a bound Python would queue a whole epoch of input batches in memory.
    # Waiting on the loss of a step this far back keeps the device fed.
    max_steps_ahead = 2

    def _run_mode(self):
        return run_mode()

    def _device(self):
        """(MXNet context, the line saying which): a GPU only if asked for and
        present."""
        if self.num_gpus > 0 and num_gpus() > 0:
            return gpu(0), 'device: GPU 0 (mxnet gpu(0))'
        if self.num_gpus > 0:
            return cpu(), (f'device: CPU (asked for {self.num_gpus} GPU(s), '
                           'none found)')
        return cpu(), 'device: CPU'

    def _reset_peak_memory(self, device):
        pass  # MXNet 1.9 keeps no peak to reset; see _peak_memory

    def _peak_memory(self, device):
        """The fit's peak memory: what the GPU has in use at the end (MXNet
        keeps freed memory in its pool, so that is about its peak), or the
        whole process."""
        if device.device_type == 'gpu':
            free, total = context.gpu_memory_info(device.device_id)
            return shared.memory_line(total - free, f'in use on GPU '
                                      f'{device.device_id}, pool included')
        return shared.host_memory_line()

    def prepare_model(self, model):
        model.trainer = self
        model.board.xlim = [0, self.epochs]
        params = model.collect_params()
        # A model that never initialised its parameters gets init_cnn (on
        # the device straight away); one that did, usually on the CPU (the
        # default context), has them moved (or their pending deferred
        # initialisation redirected).
        fresh = [p for p in params.values() if not _initialised(p)]
        if fresh or any(p._deferred_init for p in params.values()):
            shared.restart_weight_draws()
            model._shapes_known = True
        for p in fresh:
            p.initialize(ctx=self.device, default_init=init_cnn)
        if any(p.list_ctx() != [self.device] for p in params.values()):
            params.reset_ctx(self.device)
        # Compile every HybridBlock into a cached graph; static_alloc plans
        # its memory once and reuses it at every step.
        model.hybridize(static_alloc=True)
        self._trainable = [p for p in params.values() if p.grad_req != 'null']
        self.model = model
        self.optim = model.configure_optimizers()

    def _checkpoint_state(self):
        """What an interrupted fit resumes from (`shared.Trainer._resume`):
        the parameters (BatchNorm's running statistics among them) and the
        optimizer's state, as the bytes of Gluon's own files. (MXNet cannot
        read its random stream back: a model with dropout resumes with
        other dropout masks.)"""
        with tempfile.TemporaryDirectory() as folder:
            files = {'model': os.path.join(folder, 'model.params'),
                     'optim': os.path.join(folder, 'optim.states')}
            self.model.save_parameters(files['model'])
            self.optim.save_states(files['optim'])
            return {k: pathlib.Path(f).read_bytes() for k, f in files.items()}

    def _load_checkpoint_state(self, state):
        with tempfile.TemporaryDirectory() as folder:
            files = {k: os.path.join(folder, k) for k in state}
            for k, f in files.items():
                pathlib.Path(f).write_bytes(state[k])
            self.model.load_parameters(files['model'], ctx=self.device)
            self.optim.load_states(files['optim'])

    def prepare_batch(self, batch):
        return [a.as_in_ctx(self.device) for a in batch]

    def fit_epoch(self):
        model = self.model
        every = max(1, self.num_train_batches // model.plot_train_per_epoch)
        losses, chunk, sizes = [], [], []
        for batch in self.train_dataloader:
            batch = self.prepare_batch(batch)
            with autograd.record():
                loss = model.training_step(batch)
            loss.backward()
            if self.gradient_clip_val > 0:
                self.clip_gradients(self.gradient_clip_val)
            # The loss is already a batch mean: no further rescaling.
            self.optim.step(1)
            losses.append(loss)
            chunk.append(loss)
            sizes.append(batch[-1].shape[0])
            self.train_batch_idx += 1
            if len(losses) > self.max_steps_ahead:
                losses[-1 - self.max_steps_ahead].wait_to_read()
            if len(chunk) == every:
                model.plot('loss', np.stack(chunk).mean(), train=True)
                chunk = []
        val = self._validate()
        # With the validation metrics, the epoch's only host read (besides
        # the plotted points).
        step_losses = np.stack(losses).asnumpy().tolist() if losses else []
        self._end_epoch(step_losses, sizes, val)

    def _validate(self):
        """The validation metrics over all validation examples
        (`shared.validation_means`), in inference mode; the batches' means
        stay on the device until one read at the end."""
        metrics, sizes = [], []
        for batch in self.val_dataloader:
            batch = self.prepare_batch(batch)
            metrics.append(self.model.validation_step(batch))
            sizes.append(batch[-1].shape[0])
            self.val_batch_idx += 1
            if len(metrics) > self.max_steps_ahead:
                for value in metrics[-1 - self.max_steps_ahead].values():
                    value.wait_to_read()
        names = list(metrics[0]) if metrics else []
        if not names:
            return {}
        rows = np.stack([np.stack([m[k].astype('float32') for k in names])
                         for m in metrics]).asnumpy().tolist()
        return shared.validation_means([dict(zip(names, row)) for row in rows],
                                       sizes)

    def clip_gradients(self, grad_clip_val):
        """Rescale all gradients so that their global norm is at most
        `grad_clip_val`, on the device (no host sync: the scale is
        min(1, clip / norm), computed as an array)."""
        grads = [p.grad(self.device) for p in self._trainable]
        norm = np.sqrt(sum((g * g).sum() for g in grads))
        scale = np.minimum(grad_clip_val / (norm + 1e-6), 1.0)
        for g in grads:
            g *= scale


add_to_class = shared.add_to_class


class _CNNInit(init.Initializer):
    """Xavier (Glorot) uniform weights, zero biases.

    Gluon initialises each parameter by its name: `*_weight` (conv and
    dense kernels, OIHW and (out, in) as in PyTorch) gets Xavier uniform
    with the fans of the kernel (fan_in = in_channels * kh * kw) from
    `shared.canonical_weights`, so the same model starts from the same
    weights in every framework; `*_bias` zeros; BatchNorm's gamma, beta and
    running statistics keep their own rules (1, 0, 0, 1).
    """

    def _init_weight(self, _, arr):
        arr[:] = np.array(shared.canonical_weights(arr.shape), ctx=arr.ctx)

    def _init_bias(self, _, arr):
        arr[:] = 0


# An initializer object, the Gluon way: `net.initialize(d2l.init_cnn)`.
init_cnn = _CNNInit()


# --------------------------------------------------------------------------
# Devices, seeds, run mode
# --------------------------------------------------------------------------

def cpu():
    """The CPU context."""
    return npx.cpu()


def gpu(i=0):
    """The i-th GPU context."""
    return npx.gpu(i)


def num_gpus():
    return npx.num_gpus()


def try_gpu(i=0):
    """gpu(i) if it exists, else cpu()."""
    if num_gpus() >= i + 1:
        return gpu(i)
    return cpu()


def set_seed(seed):
    """Seed Python, numpy and MXNet (parameter initialisation, dropout) on
    every device."""
    shared.seed_python_and_numpy(seed)
    npx.random.seed(seed)


def run_mode():
    """The active run mode: $D2L_MODE, else `full` with a GPU, `quick`
    without."""
    return shared.run_mode(num_gpus() > 0)


# --------------------------------------------------------------------------
# Memory of one training step
# --------------------------------------------------------------------------

def _release_pool(ctx):
    """Wait for every queued operation, then hand the arrays MXNet's memory
    pool keeps for reuse back to the allocator. MXNet's default CPU pool
    (MXNET_CPU_MEM_POOL_TYPE=Naive) caches every freed buffer, so without
    this a step would run on memory an earlier step left in the pool, and its
    measured peak would depend on what ran before it."""
    npx.waitall()
    ctx.empty_cache()


def measure_kept_bytes(model, batch):
    """The bytes one training step of `model` on `batch` (X, y) keeps for its
    backward pass, as `measure_training_step(model, batch).kept_bytes`
    measures them (a proxy: see there). Only a running step shows them, and
    one costs no more than its arithmetic, so this is one measured step after
    one warm-up step."""
    return measure_training_step(model, batch, warmup=1, repeats=1).kept_bytes


def measure_training_step(model, batch, label='', warmup=1, repeats=3):
    """Memory and time of one training step (forward, loss, backward, SGD
    update) of a d2l Module on `batch` = (X, y), as a `shared.StepMemory`
    (medians of `repeats` steps after `warmup` unmeasured ones).

    The peak is the process's (`shared.HostPeakMemory`: VmHWM reset before
    the step) above what it held before it, measured from an emptied memory
    pool, so that neither warm-up nor the variant measured before decides it.
    MXNet 1.9 counts nothing it keeps for backward, so `kept_bytes` is a
    proxy: what the process holds once the recorded forward pass (and the
    loss) has finished, pool emptied, minus what it held before: the arrays
    the autograd graph keeps alive, plus the small loss. The seconds leave
    out these measurements. Afterwards every parameter and BatchNorm running
    statistic (which MXNet updates in the backward pass) is put back as it
    was."""
    import statistics
    import time
    ctx = model._device()
    if ctx.device_type != 'cpu':
        raise NotImplementedError(
            'measure_training_step (MXNet): MXNet 1.9 keeps no peak-memory '
            f'counter for {ctx}; only the CPU is measured')
    batch = [a.as_in_ctx(ctx) for a in batch]
    # An inference call (which changes nothing) lets Gluon finish any
    # deferred initialisation before the parameters are saved.
    model(*batch[:-1])
    params = model.collect_params()
    saved = {name: p.data().copy() for name, p in params.items()}
    # The learning rate is irrelevant: the weights are put back.
    optimizer = gluon.Trainer(params, 'sgd', {'learning_rate': 0.1})
    peaks, kept, seconds = [], [], []
    for step in range(warmup + repeats):
        _release_pool(ctx)
        with shared.HostPeakMemory() as peak:
            start = time.perf_counter()
            with autograd.record():
                loss = model.training_step(batch)
            loss.wait_to_read()
            forward = time.perf_counter() - start
            _release_pool(ctx)
            held = shared.host_rss_bytes(trim=True) - peak.baseline_bytes
            start = time.perf_counter()
            loss.backward()
            optimizer.step(1, ignore_stale_grad=True)
            npx.waitall()
            backward = time.perf_counter() - start
        del loss
        if step >= warmup:
            peaks.append(peak.peak_bytes)
            kept.append(held)
            seconds.append(forward + backward)
    for name, p in params.items():
        p.set_data(saved[name])
    npx.waitall()
    return shared.StepMemory(
        label=label, peak_bytes=int(statistics.median(peaks)),
        kept_bytes=int(statistics.median(kept)),
        seconds=statistics.median(seconds),
        peak_source='VmHWM (CPU, process), MXNet pool emptied',
        kept_source='VmRSS after the forward pass (CPU, proxy)')


# A value for the chapter's prose ({glue}`name`): framework-free.
glue = shared.glue
