"""d2l_local for JAX with Flax linen and optax: `from d2l_local import jax as d2l`.

The JAX half of the small d2l-style library the chapters import. Models are
Flax `linen` modules (so hyperparameters are dataclass fields, not
`save_hyperparameters()` calls), optimizers are optax transformations, and
the training state is a `flax.training.train_state.TrainState` that also
carries BatchNorm's running statistics. The Trainer compiles ONE train step
(forward, `jax.value_and_grad`, optax update, new batch statistics) and one
eval step with `jax.jit`, and reads metrics back from the device only once
per plotted point and once per epoch. Images are NHWC.

The training flag is a call argument, `model(X, training)`, that every
layer with BatchNorm or Dropout takes and passes on explicitly
(`BatchNorm(use_running_average=not training)`): True in the train step,
False in the eval step and in the shape helpers. So BatchNorm normalises
with batch statistics and updates its running averages only while training.

Inside this module `jax` is the real JAX: absolute imports make the
package's own `d2l_local.jax` unable to shadow it. The framework-free half
(run modes, the Fashion-MNIST files, the progress board, the per-epoch log)
lives in `d2l_local.shared`.
"""
import dataclasses
import functools
import inspect
import math
import pathlib
import re
import time
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn
from flax.training import train_state

from d2l_local import shared

# XLA compiles every jitted step afresh in each process: on a 2-core CPU the
# chapter's DenseNet train step takes seconds to compile, the largest part of
# a short run's first epoch. A persistent cache keyed by XLA (program, flags,
# versions) lets a rerun of the same cell, a rebuild or a test load the
# compiled step instead. Only programs that took a second or more to compile
# are written. $JAX_COMPILATION_CACHE_DIR, if set, wins.
if jax.config.jax_compilation_cache_dir is None:
    jax.config.update('jax_compilation_cache_dir', str(
        pathlib.Path.home() / '.cache' / 'd2l_local' / 'jax-compilation'))
    jax.config.update('jax_persistent_cache_min_compile_time_secs', 1.0)

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

def _layers(net):
    """The top-level children of a net: the items of a list or tuple, the
    layers of an `nn.Sequential`, or the net itself."""
    if isinstance(net, nn.Sequential):
        return tuple(net.layers)
    if isinstance(net, (list, tuple)):
        return tuple(net)
    return (net,)


@functools.lru_cache(maxsize=1024)
def _takes_training(fn):
    try:
        return 'training' in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False


def _apply_layer(layer, X, training):
    """Call one layer, handing on the training flag if it takes one (the
    chapter's blocks do; `nn.Dense` or `nn.relu` do not)."""
    fn = type(layer).__call__ if isinstance(layer, nn.Module) else layer
    if _takes_training(fn):
        return layer(X, training=training)
    return layer(X)


def _layer_name(layer):
    if isinstance(layer, nn.Module):
        return type(layer).__name__
    return getattr(layer, '__name__', type(layer).__name__)


class TrainState(train_state.TrainState):
    """Parameters, optimizer state and step count (Flax's TrainState), plus
    BatchNorm's running statistics and a key for stochastic layers."""
    batch_stats: Any
    dropout_key: Any


class Module(nn.Module, HyperParameters):
    """The base class of the chapters' models: a Flax module with a network
    `self.net` (a list of layers, built in `setup`), a loss, an optimizer,
    and the two pure steps the Trainer compiles.

    Hyperparameters are dataclass fields, as Flax requires; the two plotting
    ones are keyword-only so that a subclass' own fields keep their order.
    """
    plot_train_per_epoch: int = dataclasses.field(default=2, kw_only=True)
    plot_valid_per_epoch: int = dataclasses.field(default=1, kw_only=True)
    # Flax modules are frozen dataclasses (and cloned on every init/apply);
    # what the host changes while training (the board, the trainer, plot
    # buffers) lives in one mutable dict that is no hyperparameter.
    host: dict = dataclasses.field(default_factory=dict, init=False)

    @property
    def board(self):
        if 'board' not in self.host:
            self.host['board'] = ProgressBoard()
        return self.host['board']

    @property
    def trainer(self):
        return self.host.get('trainer')

    def loss(self, y_hat, y):
        raise NotImplementedError

    def __call__(self, X, training=False):
        return self.forward(X, training)

    def forward(self, X, training=False):
        assert hasattr(self, 'net'), 'Neural network is not defined'
        for layer in _layers(self.net):
            X = _apply_layer(layer, X, training)
        return X

    @nn.nowrap  # host-side bookkeeping: no Flax scope handling per call
    def plot(self, key, value, train):
        """Plot a metric at x = fractional epoch, like the d2l book: train
        points every num_train_batches / plot_train_per_epoch batches (their
        mean); validation points once per epoch, where the Trainer passes the
        epoch's figure over all validation examples.

        `value` may be a device array: values stay on the device until a
        plotted point is complete, so plotting costs one host sync per point,
        not one per step.
        """
        trainer = self.host.get('trainer')
        if trainer is None:  # a step called by hand, outside Trainer.fit
            return
        if train:
            x = trainer.train_batch_idx / trainer.num_train_batches
            n = trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x, n = trainer.epoch + 1, 1
        label = ('train_' if train else 'val_') + key
        xs, ys = self.host.setdefault('plot_buffer', {}).setdefault(
            label, ([], []))
        xs.append(x)
        ys.append(value)
        if len(ys) >= max(1, int(n)):
            y = float(np.mean(jax.device_get(ys)))
            self.board.draw(sum(xs) / len(xs), y, label)
            xs.clear()
            ys.clear()

    def _variables(self, state, params):
        return {'params': params, 'batch_stats': state.batch_stats}

    def training_step(self, state, batch):
        """One optimisation step, a pure function the Trainer jits: returns
        the new state and the minibatch loss."""
        dropout_key = jax.random.fold_in(state.dropout_key, state.step)

        def loss_fn(params):
            Y_hat, updates = state.apply_fn(
                self._variables(state, params), *batch[:-1], training=True,
                mutable=['batch_stats'], rngs={'dropout': dropout_key})
            return self.loss(Y_hat, batch[-1]), updates

        (l, updates), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params)
        state = state.apply_gradients(
            grads=grads,
            batch_stats=updates.get('batch_stats', state.batch_stats))
        return state, l

    def validation_step(self, state, batch):
        """The metrics of one validation minibatch (pure, jitted): a dict of
        batch means; the Trainer turns them into the epoch's figures, plots
        and logs them."""
        Y_hat = state.apply_fn(self._variables(state, state.params),
                               *batch[:-1], training=False)
        return {'loss': self.loss(Y_hat, batch[-1])}

    def configure_optimizers(self):
        return optax.sgd(self.lr)

    def apply_init(self, dummy_input, key=None, init=None):
        """The model's variables ({'params': ..., 'batch_stats': ...}) for
        inputs like `dummy_input`; `init` (e.g. `init_cnn`) then
        re-initialises the parameters."""
        key = get_key() if key is None else key
        init_key, reinit_key = jax.random.split(key)
        # init_cnn's layers take their weights from shared.canonical_weights
        # in the order the forward pass creates them: number that order
        # from 0, as the other tabs do for their models.
        shared.restart_weight_draws()
        # Compiled: the forward pass is dead code in the program (only the
        # variables are returned), and one compilation beats dispatching
        # every initializer and layer op by op. A fresh function each time,
        # so that jit never reuses weights traced under an earlier seed.
        variables = dict(jax.jit(
            lambda key, X: self.init(key, X, training=False))(
                init_key, dummy_input))
        if init is not None:
            variables['params'] = init(variables['params'], reinit_key)
        return variables

    def layer_summary(self, X_shape):
        """Print and return each top-level layer of `self.net` with the
        output shape it gives for an input of `X_shape` (NHWC). Shapes only:
        `jax.eval_shape` traces the model without computing anything."""
        layer_names = []

        def outputs(module, X):
            results = []
            for layer in _layers(module.net):  # `net` exists once bound
                X = _apply_layer(layer, X, False)
                layer_names.append(_layer_name(layer))
                results.append(X)
            return results

        X = jax.ShapeDtypeStruct(tuple(X_shape), jnp.float32)
        shapes = jax.eval_shape(lambda X: self.init_with_output(
            jax.random.key(0), X, method=outputs)[0], X)
        rows = []
        for name, out in zip(layer_names, shapes):
            shape = tuple(out.shape)
            print(f'{name:<16} output shape: {shape}')
            rows.append((name, shape))
        return rows

    def count_parameters(self, X_shape):
        """Trainable parameters (the 'params' collection, not BatchNorm's
        statistics) of the model for inputs of X_shape. `jax.eval_shape`
        creates their shapes only: nothing is computed or allocated."""
        X = jax.ShapeDtypeStruct(tuple(X_shape), jnp.float32)
        variables = jax.eval_shape(lambda X: self.init(
            jax.random.key(0), X, training=False), X)
        return sum(math.prod(p.shape)
                   for p in jax.tree_util.tree_leaves(variables['params']))


class Classifier(Module):
    """A Module whose loss is cross-entropy and that also reports accuracy."""

    def validation_step(self, state, batch):
        Y_hat = state.apply_fn(self._variables(state, state.params),
                               *batch[:-1], training=False)
        return {'loss': self.loss(Y_hat, batch[-1]),
                'acc': self.accuracy(Y_hat, batch[-1])}

    def accuracy(self, Y_hat, Y, averaged=True):
        """The fraction of correct predictions (a device array: no sync)."""
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        compare = (Y_hat.argmax(axis=1) == Y.reshape(-1)).astype(jnp.float32)
        return compare.mean() if averaged else compare

    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        l = optax.softmax_cross_entropy_with_integer_labels(Y_hat,
                                                            Y.reshape(-1))
        return l.mean() if averaged else l


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

class DataModule(shared.DataModule):
    """The base class of data: `get_dataloader(train)` gives the batches
    (`shared.DataModule`), handed to the device one batch at a time.

    The data already sits in host memory, so gathering a batch with numpy
    and transferring it is all a loader has to do; JAX dispatches
    asynchronously, so this overlaps with the previous step's compute."""

    def _run_mode(self):
        return run_mode()

    def _convert(self, array):
        return jax.device_put(array)


class FashionMNIST(shared.FashionMNIST, DataModule):
    """Fashion-MNIST from its real IDX files, as NHWC float32 images in
    [0, 1] and int32 labels, cut to the run mode's caps
    (`shared.FashionMNIST`)."""

    def _prepare(self, batch):
        """One batch: resized bilinearly by the shared numpy code (half-pixel
        centres, as torchvision's Resize on tensors; the same pixels as in
        the other frameworks), the channel axis added."""
        X, y = batch
        return shared.resize_images(X, self.resize)[..., None], y

    def visualize(self, batch, nrows=1, ncols=8, labels=[]):
        X, y = batch
        if not labels:
            labels = self.text_labels(y)
        shared.show_images(np.asarray(X)[..., 0], nrows, ncols,
                            titles=labels)



# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

# Two options for the compilations of a training step on a CPU.
# - XLA:CPU expands the optimization barriers that jax.checkpoint (nn.remat)
#   puts around a recomputation before it eliminates common subexpressions,
#   so the recomputation is merged back into the forward pass and nothing is
#   saved (jax-ml/jax#19822). Keeping the barriers keeps the recomputation
#   where jax.checkpoint put it: in the backward pass. A model without remat
#   has no barriers, and the option changes nothing.
# - The pinned jaxlib hands reductions, dot products and convolutions to the
#   YNNPACK library by default; XLA's own convolutions are faster for the
#   chapters' small images. On the 2-core machine that builds the book
#   (bench/throughput.py, bench/README.md) the DenseNet trained at 844
#   examples per second at 32x32 with convolutions left to XLA against 711,
#   and at 94 against 56 at 96x96. The list keeps the other two, reductions
#   (BatchNorm's statistics) above all: leaving those to XLA as well made the
#   step at 32x32 18% slower. (As a flag: XLA_FLAGS=
#   --xla_cpu_experimental_ynn_fusion_type=-individual_convolution.)
_CPU_COMPILER_OPTIONS = {
    'xla_disable_hlo_passes': 'cse_barrier_expander',
    'xla_cpu_experimental_ynn_fusion_type':
        'LIBRARY_FUSION_TYPE_REDUCE,LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT'}


def _compiler_options(device):
    """What `jax.jit` compiles a step with on `device`."""
    return _CPU_COMPILER_OPTIONS if device.platform == 'cpu' else None


class Trainer(shared.Trainer):
    """Trains a Module on a DataModule (`shared.Trainer.fit` runs the
    epochs).

    `fit` builds a TrainState (parameters from `model.apply_init`, the
    optimizer from `model.configure_optimizers`, clipped by global norm if
    asked), then jits `model.training_step` and `model.validation_step`
    once each. The loop only dispatches those steps and keeps their device
    outputs; the host reads them once per plotted point and once per epoch.
    After `fit`, `trainer.state` holds the trained variables (each `fit`
    starts from freshly initialised ones).
    """

    def _run_mode(self):
        return run_mode()

    def _device(self):
        """The device to train on, and a line saying which and why."""
        found = num_gpus()
        if self.num_gpus > 0 and found > 0:
            device = gpu(0)
            return device, f'device: GPU {device} ({device.device_kind})'
        if self.num_gpus > 0:
            return cpu(), (f'device: CPU (asked for {self.num_gpus} GPU(s), '
                           'none found)')
        return cpu(), 'device: CPU'

    def _device_scope(self):
        return jax.default_device(self.device)

    def _reset_peak_memory(self, device):
        pass  # XLA's peak counts from the process's start and cannot be reset

    def _peak_memory(self, device):
        """The peak memory: the GPU's since the process started, or the
        whole process."""
        if device.platform == 'gpu':
            peak = device.memory_stats()['peak_bytes_in_use']
            return shared.memory_line(peak, f'on GPU {device.id}, since the '
                                      'process started')
        return shared.host_memory_line()

    def prepare_model(self, model):
        model.host['trainer'] = self
        model.host['plot_buffer'] = {}
        model.board.xlim = [0, self.epochs]
        # Shapes from one example of the first validation batch (the val
        # loader does not shuffle, so no epoch order is consumed).
        batch = next(iter(self.val_dataloader), None)
        if batch is None:
            batch = next(iter(self.train_dataloader))
        X = batch[0][:1]
        init_key, dropout_key = jax.random.split(get_key())
        variables = model.apply_init(X, key=init_key)
        tx = model.configure_optimizers()
        if self.gradient_clip_val > 0:
            tx = optax.chain(optax.clip_by_global_norm(self.gradient_clip_val),
                             tx)
        self.state = TrainState.create(
            apply_fn=model.apply, params=variables['params'],
            batch_stats=variables.get('batch_stats', {}), tx=tx,
            dropout_key=dropout_key)
        self.model = model
        # The old state's buffers are donated to the new one (no copy).
        options = _compiler_options(getattr(self, 'device', cpu()))
        self.train_step = jax.jit(model.training_step, donate_argnums=0,
                                  compiler_options=options)
        self.eval_step = jax.jit(model.validation_step,
                                 compiler_options=options)

    def _checkpoint_state(self):
        """What an interrupted fit resumes from (`shared.Trainer._resume`),
        on the host: the TrainState's arrays (parameters, BatchNorm's
        statistics, the optimizer's state, the step count that dropout's
        keys fold in) and the points half-way to being plotted."""
        state = self.state.replace(dropout_key=None)
        return {'state': jax.device_get(jax.tree_util.tree_leaves(state)),
                'plot_buffer': jax.device_get(self.model.host['plot_buffer'])}

    def _load_checkpoint_state(self, state):
        # The dropout key is this fit's own (split from set_seed's), as in
        # the interrupted run: only the step it is folded with moves on.
        key = self.state.dropout_key
        structure = jax.tree_util.tree_structure(
            self.state.replace(dropout_key=None))
        self.state = jax.tree_util.tree_unflatten(
            structure, [jnp.asarray(a) for a in state['state']]
        ).replace(dropout_key=key)
        self.model.host['plot_buffer'] = state['plot_buffer']

    def fit_epoch(self):
        model = self.model
        losses, sizes = [], []
        for batch in self.train_dataloader:
            self.state, loss = self.train_step(self.state, batch)
            model.plot('loss', loss, train=True)
            losses.append(loss)
            sizes.append(len(batch[-1]))
            self.train_batch_idx += 1
        val = self._validate()
        # With the validation metrics, the epoch's only host sync (besides
        # the plotted points). A short last batch compiles each step once
        # more, in the first epoch only.
        step_losses = [float(l) for l in jax.device_get(losses)]
        self._end_epoch(step_losses, sizes, val)

    def _validate(self):
        """The validation metrics over all validation examples
        (`shared.validation_means`); the batches' means stay on the device
        until one transfer at the end."""
        metrics, sizes = [], []
        for batch in self.val_dataloader:
            metrics.append(self.eval_step(self.state, batch))
            sizes.append(len(batch[-1]))
            self.val_batch_idx += 1
        return shared.validation_means(jax.device_get(metrics), sizes)


def add_to_class(Class):
    """Register the decorated function as a method of `Class`
    (`shared.add_to_class`), Flax-aware: on a Flax module the method gets the
    state-management wrapper Flax gives every method written in a class body,
    without which a `setup` added this way could not create submodules."""
    def wrapper(obj):
        method = obj
        if (isinstance(Class, type) and issubclass(Class, nn.Module)
                and callable(obj) and not hasattr(obj, 'nowrap')):
            method = nn.module.wrap_method_once(obj)
        setattr(Class, obj.__name__, method)
        return obj
    return wrapper

def _canonical_kernel(key, shape, dtype=jnp.float32):
    """A Flax initializer: Xavier uniform from shared.canonical_weights (the
    key is not used: the weights are drawn framework-free, in PyTorch's
    layout, and transposed to Flax's ([kh, kw,] in, out))."""
    del key
    weights = shared.canonical_weights(shared.from_channels_last(shape))
    return jnp.asarray(shared.to_channels_last(weights), dtype=dtype)


def _creation_order(name):
    """Sort key of Flax's automatic names in the order the layers were
    created: 'net_2' before 'net_10' (a plain sort, as jax.tree_util's,
    would not), 'Conv_0' before 'Conv_1'."""
    return [int(part) if part.isdigit() else part
            for part in re.split(r'(\d+)', name)]


def _reinit_in_creation_order(tree):
    """`tree` with every 'kernel' redrawn and every 'bias' zeroed, walking
    the layers in the order the forward pass created them."""
    new = {}
    for name in sorted(tree, key=_creation_order):
        value = tree[name]
        if isinstance(value, Mapping):
            new[name] = _reinit_in_creation_order(value)
        elif name == 'kernel' and value.ndim >= 2:
            new[name] = _canonical_kernel(None, value.shape, value.dtype)
        elif name == 'bias':
            new[name] = jnp.zeros_like(value)
        else:
            new[name] = value
    return new


def init_cnn(layer_or_params, key=None):
    """Xavier-uniform weights and zero biases for conv and dense layers.

    Two ways, both Flax idioms:
    - `Conv = init_cnn(nn.Conv)` gives the layer class with these
      initializers bound (`kernel_init`, `bias_init`), for a model's code;
    - `init_cnn(params)` re-initialises an existing parameter pytree:
      every 'kernel' (conv and dense weights) Xavier-uniform, every 'bias'
      zero (BatchNorm's biases start at zero anyway); `apply_init(X,
      init=init_cnn)` does this after creating the variables.
    Either way the weights come from `shared.canonical_weights`: after the
    same `set_seed`, the same model starts from the same weights in every
    framework (`key` is accepted for the Flax signature, and not used).
    """
    if isinstance(layer_or_params, type) and issubclass(layer_or_params,
                                                        nn.Module):
        return functools.partial(layer_or_params,
                                 kernel_init=_canonical_kernel,
                                 bias_init=nn.initializers.zeros)
    shared.restart_weight_draws()
    return _reinit_in_creation_order(layer_or_params)


# --------------------------------------------------------------------------
# Devices, seeds, run mode
# --------------------------------------------------------------------------

def cpu():
    return jax.devices('cpu')[0]


def gpu(i=0):
    return jax.devices('gpu')[i]


def num_gpus():
    try:
        return len(jax.devices('gpu'))
    except RuntimeError:  # no GPU backend in this jaxlib, or no GPU
        return 0


def try_gpu(i=0):
    """The i-th GPU if there is one, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


# The keys are XLA's RngBitGenerator ('rbg') keys rather than JAX's default
# threefry: every initializer draws its own random bits, and threefry's
# bit generation is a large program to compile for each of them (on CPU,
# initialising the chapter's DenseNet took several times longer). Keys carry
# their implementation, so everything split from them follows.
_KEY_IMPL = 'rbg'
_key = None


def set_seed(seed):
    """Seed Python, numpy and this module's JAX key (from which model
    initialisation and dropout keys are split): a smoke run on CPU then
    repeats its numbers exactly."""
    global _key
    shared.seed_python_and_numpy(seed)
    _key = jax.random.key(seed, impl=_KEY_IMPL)


def get_key():
    """A fresh PRNG key split off the one set_seed planted (not exported:
    JAX's own keys are explicit; this is the d2l convenience)."""
    global _key
    if _key is None:
        _key = jax.random.key(0, impl=_KEY_IMPL)
    _key, key = jax.random.split(_key)
    return key


def run_mode():
    """The active run mode: $D2L_MODE, else full with a GPU, quick without."""
    return shared.run_mode(num_gpus() > 0)


# --------------------------------------------------------------------------
# Memory of one training step
# --------------------------------------------------------------------------

def _residual_bytes(loss_fn, params):
    """The bytes `jax.vjp` keeps for the backward pass of `loss_fn` at
    `params`: the residuals its forward pass hands to its backward pass, each
    array once, without the arguments and constants (the parameters and the
    batch are held whether or not anything is differentiated). Shapes only:
    the jaxpr is traced, nothing is computed."""
    jaxpr = jax.make_jaxpr(
        lambda p: jax.vjp(loss_fn, p, has_aux=True)[1])(params).jaxpr
    held = set(jaxpr.invars) | set(jaxpr.constvars)
    residuals = {v for v in jaxpr.outvars
                 if not isinstance(v, jax.extend.core.Literal)
                 and v not in held}
    return sum(v.aval.size * v.aval.dtype.itemsize for v in residuals)


def _settle_host_memory(timeout=2.0):
    """Wait until the process' resident memory stops shrinking: XLA frees a
    step's temporary buffers shortly *after* the step's results are ready,
    and a peak measured from a baseline that still holds them reads too low."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        rss = shared.host_rss_bytes()
        if last is not None and last - rss < 2 ** 20:
            return
        last = rss
        time.sleep(0.02)


def _training_loss(model, batch):
    """`model`'s training state, initialised with a fixed key, and its loss
    on `batch` as a function of the parameters (with BatchNorm's updates as
    the auxiliary output): what a training step differentiates."""
    X, y = batch
    variables = model.apply_init(X[:1], key=jax.random.key(0, impl=_KEY_IMPL))
    state = TrainState.create(
        apply_fn=model.apply, params=variables['params'],
        batch_stats=variables.get('batch_stats', {}),
        tx=model.configure_optimizers(),
        dropout_key=jax.random.key(1, impl=_KEY_IMPL))

    def loss_fn(params):
        Y_hat, updates = model.apply(
            {'params': params, 'batch_stats': state.batch_stats}, X,
            training=True, mutable=['batch_stats'],
            rngs={'dropout': state.dropout_key})
        return model.loss(Y_hat, y), updates
    return state, loss_fn


def measure_kept_bytes(model, batch):
    """The bytes one training step of `model` on `batch` (X, y) keeps for its
    backward pass: `measure_training_step(model, batch).kept_bytes`, from the
    traced program alone. Nothing is compiled or run, which on a CPU saves
    the step's compilation (tens of seconds for a large model)."""
    state, loss_fn = _training_loss(model, batch)
    return _residual_bytes(loss_fn, state.params)


def measure_training_step(model, batch, label='', warmup=1, repeats=3):
    """Memory and time of one compiled training step of `model` on `batch`
    (X, y): forward, loss, backward and the SGD update of
    `model.training_step`, as `shared.StepMemory`.

    - kept_bytes: the residuals JAX's autodiff keeps for the backward pass
      (`_residual_bytes`), exact, from the traced program.
    - peak_bytes: on the CPU, the measured peak of the process' resident
      memory during one step above what it held before (`HostPeakMemory`,
      median of `repeats` steps); on a GPU, where JAX's peak counter cannot be
      reset, XLA's own figure for the compiled step (temporaries + outputs).
    - seconds: the median time of one step after `warmup` steps; compilation
      is excluded.

    The weights come from `model.apply_init` with a fixed key, so two models
    that differ only in how they compute (naive vs memory-efficient) are
    measured with the same weights, in either order. A Flax model holds no
    state, so nothing is changed by measuring.
    """
    device = try_gpu()
    state, loss_fn = _training_loss(model, batch)
    kept = _residual_bytes(loss_fn, state.params)
    step = jax.jit(model.training_step,
                   compiler_options=_compiler_options(device))
    compiled = step.lower(state, batch).compile()
    for _ in range(warmup):
        jax.block_until_ready(compiled(state, batch))
    peaks, seconds = [], []
    for _ in range(repeats):
        _settle_host_memory()
        with shared.HostPeakMemory() as host:
            start = time.perf_counter()
            jax.block_until_ready(compiled(state, batch))
            seconds.append(time.perf_counter() - start)
        peaks.append(host.peak_bytes)
    if device.platform == 'cpu':
        peak, peak_source = int(np.median(peaks)), 'VmHWM (CPU, process)'
    else:
        analysis = compiled.memory_analysis()
        peak = analysis.temp_size_in_bytes + analysis.output_size_in_bytes
        peak_source = 'XLA memory_analysis (temporaries + outputs)'
    return shared.StepMemory(
        label=label, peak_bytes=peak, kept_bytes=kept,
        seconds=float(np.median(seconds)), peak_source=peak_source,
        kept_source='jax.vjp residuals (traced)')


# A value for the chapter's prose ({glue}`name`): framework-free.
glue = shared.glue
