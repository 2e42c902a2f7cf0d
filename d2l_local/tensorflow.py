"""d2l_local for TensorFlow 2 with Keras 3.

Import it as `from d2l_local import tensorflow as d2l`.

The chapters' models are Keras 3 layers; the Trainer is a hand-written loop
around two `tf.function`-compiled steps (a `tf.GradientTape` train step and an
eval step), fed batch by batch from in-memory arrays in the order the other
frameworks use (`shared.batch_indices`). Images are NHWC.

What the reference book's TensorFlow code got wrong, and this module does not:
it never passed `training=True`, so Keras BatchNorm normalised with its frozen
moving statistics while training. Here the train step calls the model with
`training=True` and the eval step with `training=False`, explicitly.

The framework-free half (run modes, the Fashion-MNIST files, the progress
board, the per-epoch log) lives in `d2l_local.shared`.
"""
import functools
import itertools
import os
import time

# TensorFlow logs a screenful at import (oneDNN, CPU features, CUDA probing);
# keep warnings and errors only, unless the user chose a level.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402

from d2l_local import shared  # noqa: E402

# Two lines get past that level: they are written before absl's logging is
# set up, straight to the process' stderr, and would open every notebook.
with shared.native_stderr_without(
        ('All log messages before absl::InitializeLog() is called',
         'oneDNN custom operations are on')):
    import tensorflow as tf  # noqa: E402

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

# A Keras *Layer*, not a keras.Model: keras.Model sets an instance attribute
# `self.loss = None` (for compile()), which would hide the `loss` method that
# every d2l model defines. A Layer tracks variables and sublayers all the same.
class Module(tf.keras.layers.Layer, HyperParameters):
    """The base class of models: a network `self.net`, a loss, and the steps
    the Trainer compiles."""

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X, training=None):
        assert hasattr(self, 'net'), 'Neural network is defined'
        # Pass the flag on explicitly: BatchNorm and Dropout depend on it.
        return self.net(X, training=training)

    def call(self, X, training=None):
        return self.forward(X, training=training)

    def build(self, input_shape):
        # Keras calls this before the first call. A Sequential/Model net
        # builds symbolically: weights are created from shapes alone and
        # nothing is computed (Keras' jax.eval_shape). Other nets build
        # themselves on their first call.
        net = getattr(self, 'net', None)
        if isinstance(net, tf.keras.Model) and not net.built:
            _skip_building_by_tracing(net)
            net.build(input_shape)
            _draw_canonical_weights(net)

    def plot(self, key, value, train):
        """Draw one point at x = (fractional) epoch.

        The Trainer calls this with values already averaged on the device:
        `plot_train_per_epoch` train points per epoch, and the validation
        metrics once per epoch, over all validation examples (at x = epoch,
        where the d2l book draws all `plot_valid_per_epoch` of its points),
        so plotting never forces a host sync per batch.
        """
        assert hasattr(self, 'trainer'), 'Trainer is not inited'
        if train:
            x = self.trainer.train_batch_idx / self.trainer.num_train_batches
        else:
            x = self.trainer.epoch + 1
        self.board.draw(x, float(value), ('train_' if train else 'val_') + key)

    def training_step(self, batch):
        """The loss of one batch in training mode (BatchNorm uses the batch's
        statistics and updates its moving averages)."""
        return self.loss(self(*batch[:-1], training=True), batch[-1])

    def validation_step(self, batch):
        """Metrics of one batch in inference mode, as a dict of batch means;
        the Trainer turns them into the epoch's figures, plots and logs
        them."""
        Y_hat = self(*batch[:-1], training=False)
        return {'loss': self.loss(Y_hat, batch[-1])}

    def configure_optimizers(self):
        return tf.keras.optimizers.SGD(learning_rate=self.lr)

    def apply_init(self, X_shape=None, init=None):
        """Apply `init` to every layer of `self.net`; with `X_shape`, first
        materialise the weights with a zeros input of that shape.

        (Keras builds lazily; `init_cnn` also works on layers not built yet.)
        """
        if X_shape is not None:
            self(tf.zeros(X_shape), training=False)
        if init is not None:
            shared.restart_weight_draws()
            # Keras 3 has no public recursive walk over sublayers.
            for layer in self.net._flatten_layers(include_self=True,
                                                  recursive=True):
                init(layer)

    def layer_summary(self, X_shape):
        """Run a zeros input through the top-level layers of `self.net`,
        print each one's output shape, return [(class name, shape), ...]."""
        X = tf.zeros(X_shape)
        was_built = self.net.built
        rows = []
        for layer in self.net.layers:
            X = layer(X, training=False)
            rows.append((type(layer).__name__, tuple(X.shape)))
            print(f'{rows[-1][0]:<16} output shape: {rows[-1][1]}')
        if not was_built:
            _draw_canonical_weights(self.net)
        return rows

    def count_parameters(self, X_shape):
        """Trainable parameters, once the model is built for inputs of
        `X_shape` (BatchNorm's moving statistics are not trainable)."""
        if not self.built:
            self.build(X_shape)
        if not self.net.built:  # a net that builds only by running
            self(tf.zeros(X_shape), training=False)
        return sum(int(np.prod(v.shape)) for v in self.trainable_variables)


class Classifier(Module):
    """A Module with cross-entropy loss and accuracy."""

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1], training=False)
        return {'loss': self.loss(Y_hat, batch[-1]),
                'acc': self.accuracy(Y_hat, batch[-1])}

    def accuracy(self, Y_hat, Y, averaged=True):
        """Fraction (or per-example 0/1) of correct predictions."""
        Y_hat = tf.reshape(Y_hat, (-1, Y_hat.shape[-1]))
        Y = tf.reshape(Y, (-1,))
        preds = tf.argmax(Y_hat, axis=1, output_type=tf.int32)
        compare = tf.cast(preds == tf.cast(Y, tf.int32), tf.float32)
        return tf.reduce_mean(compare) if averaged else compare

    def loss(self, Y_hat, Y, averaged=True):
        """Cross-entropy of logits `Y_hat` against integer labels `Y`."""
        Y_hat = tf.reshape(Y_hat, (-1, Y_hat.shape[-1]))
        Y = tf.reshape(Y, (-1,))
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=Y, logits=Y_hat)
        return tf.reduce_mean(losses) if averaged else losses


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

class DataModule(shared.DataModule):
    """The base class of data: batches for training and validation
    (`shared.DataModule`), here as TensorFlow tensors.

    A plain loop over in-memory arrays rather than `tf.data`: its shuffle
    draws its own order, and the four frameworks must see the same batches
    in the same order (`shared.batch_indices`)."""

    def _run_mode(self):
        return run_mode()

    def _convert(self, array):
        return tf.convert_to_tensor(array)


class FashionMNIST(shared.FashionMNIST, DataModule):
    """Fashion-MNIST from its real IDX files (`shared.FashionMNIST`), cut
    to the run mode's caps; batches: NHWC float32 in [0, 1], int32 labels."""

    def _prepare(self, batch):
        """One batch: resized bilinearly by the shared numpy code (half-pixel
        centres, as torchvision's Resize; the same pixels as in the other
        frameworks), with the channel axis added."""
        X, y = batch
        return shared.resize_images(X, self.resize)[..., np.newaxis], y

    def visualize(self, batch, nrows=1, ncols=8, labels=[]):
        X, y = batch
        if not labels:
            labels = self.text_labels(y)
        shared.show_images(tf.squeeze(X, axis=-1).numpy(), nrows, ncols,
                           titles=labels)



# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

def _compiled_step(step, input_signature):
    """`tf.function(step)` that keeps its own count of retracing.

    TensorFlow warns about "excessive retracing" when five of the last ten
    calls traced, counting together every function that shares one code
    object. Each fit compiles new steps from the same nested functions (a
    new model needs its own trace), so a notebook that fits five models of
    a few batches each reads as one step retraced five times (exercise 5
    of the first chapter, in smoke mode). A `functools.partial` has no code
    object of its own, so TensorFlow counts the traces of this step alone:
    a step that retraces within its fit (changing shapes, Python values)
    still warns."""
    return tf.function(functools.partial(step),
                       input_signature=input_signature)


def _element_spec(loader):
    """The TensorSpecs of a loader's batches, the batch dimension left open,
    from a one-example batch (so that no epoch order is consumed)."""
    return tuple(tf.TensorSpec((None,) + tuple(t.shape[1:]), t.dtype)
                 for t in loader.batch(slice(0, 1)))


class Trainer(shared.Trainer):
    """Trains a Module on a DataModule: compiled steps, capped by the run
    mode (`shared.Trainer.fit` runs the epochs).

    `history` holds one dict per epoch (see `shared.TrainingLog`).
    """

    def _run_mode(self):
        return run_mode()

    def _device(self):
        """(TensorFlow device name, the line saying which): a GPU only if asked
        for and present."""
        gpus = tf.config.list_physical_devices('GPU')
        if self.num_gpus > 0 and gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            name = details.get('device_name', 'GPU')
            return '/GPU:0', f'device: GPU 0 ({name})'
        if self.num_gpus > 0:
            return '/CPU:0', (f'device: CPU (asked for {self.num_gpus} '
                              'GPU(s), none found)')
        return '/CPU:0', 'device: CPU'

    def _device_scope(self):
        return tf.device(self.device)

    def _reset_peak_memory(self, device):
        if device.startswith('/GPU'):
            tf.config.experimental.reset_memory_stats(device.lstrip('/'))

    def _peak_memory(self, device):
        """The fit's peak memory: the GPU's tensors, or the whole process."""
        if device.startswith('/GPU'):
            info = tf.config.experimental.get_memory_info(device.lstrip('/'))
            return shared.memory_line(info['peak'], f'tensors on {device[1:]}')
        return shared.host_memory_line()

    def prepare_model(self, model):
        model.trainer = self
        model.board.xlim = [0, self.epochs]
        self.model = model
        if not model.built:
            # Create the weights (on the device) before tracing: the
            # compiled steps then only read and update variables.
            spec = _element_spec(self.train_dataloader)[0]
            model.build(tuple(spec.shape))
            if not model.net.built:  # a net that builds only by running
                model(tf.zeros((1,) + tuple(spec.shape[1:]), spec.dtype),
                      training=False)
        self.optim = model.configure_optimizers()
        self.optim.build(model.trainable_variables)
        self._train_step, self._eval_step = self._compile_steps()

    def _checkpoint_state(self):
        """What an interrupted fit resumes from (`shared.Trainer._resume`):
        the model's variables (BatchNorm's moving statistics among them)
        and the optimizer's (its iteration count, any slots), as arrays."""
        return {'model': [v.numpy() for v in self.model.weights],
                'optim': [v.numpy() for v in self.optim.variables]}

    def _load_checkpoint_state(self, state):
        for variable, value in zip(self.model.weights, state['model']):
            variable.assign(value)
        for variable, value in zip(self.optim.variables, state['optim']):
            variable.assign(value)

    def _compile_steps(self):
        """The train and eval steps as `tf.function`s, traced once: their
        input signature leaves the batch dimension open, so the last, short
        batch of an epoch does not trigger a second trace."""
        model, optim = self.model, self.optim
        clip = float(self.gradient_clip_val)
        signature = list(_element_spec(self.train_dataloader))
        compiled = functools.partial(_compiled_step, input_signature=signature)

        @compiled
        def train_step(*batch):
            with tf.GradientTape() as tape:
                loss = model.training_step(batch)
            variables = model.trainable_variables
            grads = tape.gradient(loss, variables)
            if clip > 0:
                grads, _ = tf.clip_by_global_norm(grads, clip)
            optim.apply_gradients(zip(grads, variables))
            return loss

        @compiled
        def eval_step(*batch):
            return {k: tf.cast(v, tf.float32)
                    for k, v in model.validation_step(batch).items()}

        return train_step, eval_step

    def prepare_batch(self, batch):
        return batch

    def fit_epoch(self):
        model = self.model
        # Train losses stay on the device; the host reads them only when a
        # point is plotted (plot_train_per_epoch times an epoch) and once
        # for the epoch's mean.
        every = max(1, self.num_train_batches // model.plot_train_per_epoch)
        losses, chunk, sizes = [], [], []
        for batch in self.train_dataloader:
            batch = self.prepare_batch(batch)
            loss = self._train_step(*batch)
            losses.append(loss)
            chunk.append(loss)
            sizes.append(int(batch[0].shape[0]))
            self.train_batch_idx += 1
            if len(chunk) == every:
                model.plot('loss', tf.reduce_mean(chunk), train=True)
                chunk = []
        val = self._validate()
        # With the validation metrics, the epoch's only host read (besides
        # the plotted points).
        step_losses = tf.stack(losses).numpy().tolist() if losses else []
        self._end_epoch(step_losses, sizes, val)

    def _validate(self):
        """The validation metrics over all validation examples
        (`shared.validation_means`), in inference mode; the batches' means
        stay on the device until one read at the end."""
        metrics, sizes = [], []
        for batch in self.val_dataloader:
            batch = self.prepare_batch(batch)
            metrics.append(self._eval_step(*batch))
            sizes.append(int(batch[0].shape[0]))
            self.val_batch_idx += 1
        names = list(metrics[0]) if metrics else []
        if not names:
            return {}
        rows = tf.stack([tf.stack([m[k] for k in names])
                         for m in metrics]).numpy().tolist()
        return shared.validation_means([dict(zip(names, row)) for row in rows],
                                       sizes)


add_to_class = shared.add_to_class


class _CanonicalGlorotUniform(tf.keras.initializers.GlorotUniform):
    """Keras' GlorotUniform, drawn by `shared.canonical_weights` in
    PyTorch's layout and transposed to Keras' ([kh, kw,] in, out).

    One instance per layer (`init_cnn` gives each its own), which notes when
    its layer first created its kernel: the order of the forward pass."""
    _calls = itertools.count()

    def __call__(self, shape, dtype=None):
        if not hasattr(self, 'first_call'):
            self.first_call = next(self._calls)
        weights = shared.canonical_weights(shared.from_channels_last(shape))
        return tf.constant(shared.to_channels_last(weights),
                           dtype=dtype or tf.float32)


def _skip_building_by_tracing(net):
    """Mark the custom layers inside `net` that have no `build` method of
    their own as built, so that the layers they hold build in the one
    symbolic pass of `net.build`.

    Keras 3 builds such a layer by tracing its `call` in a scratch graph
    before the call that counts, and a layer inside another such layer once
    more per level: each of a DenseNet-BC's dense layers was traced three
    times to count its parameters (the memory chapter's four DenseNet-BCs:
    22.5 s on 2 cores, 11.8 s traced once). The layers with a `build` of
    their own (Conv2D, BatchNormalization, Dense, Sequential) still build
    from the shapes they are first called with."""
    for layer in net._flatten_layers(include_self=False, recursive=True):
        if not layer.built and getattr(layer.build, '_is_default', False):
            layer.built = True


def _draw_canonical_weights(net):
    """Give every layer that `init_cnn` prepared its canonical weights, in
    the order of the forward pass, i.e. the order the layers first created
    their kernels in (Keras' own walk over sublayers is not that order).

    Drawn once the whole net is built rather than by the initializer alone:
    Keras may call a layer's initializers more than once while it builds a
    custom layer symbolically, which would shift the numbering of the draws
    away from the other tabs'."""
    layers = [layer for layer in net._flatten_layers(include_self=True,
                                                     recursive=True)
              if layer.built and hasattr(getattr(
                  layer, 'kernel_initializer', None), 'first_call')]
    shared.restart_weight_draws()
    for layer in sorted(layers, key=lambda l: l.kernel_initializer.first_call):
        layer.kernel.assign(layer.kernel_initializer(layer.kernel.shape))


def init_cnn(layer):
    """Xavier-uniform weights and zero biases for conv and dense layers.

    (Keras' own defaults, made explicit, and drawn by
    `shared.canonical_weights`: after the same `set_seed`, the same model
    starts from the same weights in every framework.) Works on a built
    layer, whose weights are redrawn, and on one not yet built, whose
    initializers are set.
    """
    if not isinstance(layer, (tf.keras.layers.Conv1D, tf.keras.layers.Conv2D,
                              tf.keras.layers.Conv3D, tf.keras.layers.Dense)):
        return
    kernel_init = _CanonicalGlorotUniform()
    if layer.built:
        layer.kernel.assign(kernel_init(layer.kernel.shape))
        if layer.bias is not None:
            layer.bias.assign(tf.zeros_like(layer.bias))
    else:
        layer.kernel_initializer = kernel_init
        layer.bias_initializer = tf.keras.initializers.Zeros()


# --------------------------------------------------------------------------
# Devices, seeds, run mode
# --------------------------------------------------------------------------

def cpu():
    """The CPU, as a device scope: `with d2l.cpu(): ...`."""
    return tf.device('/CPU:0')


def gpu(i=0):
    """The i-th GPU, as a device scope."""
    return tf.device(f'/GPU:{i}')


def num_gpus():
    return len(tf.config.list_physical_devices('GPU'))


def try_gpu(i=0):
    """gpu(i) if it exists, else cpu(): usable in a `with` statement."""
    if num_gpus() >= i + 1:
        return gpu(i)
    return cpu()


def set_seed(seed):
    """Seed Python, numpy, TensorFlow and Keras' initializers and dropout."""
    shared.seed_python_and_numpy(seed)
    tf.keras.utils.set_random_seed(seed)


def run_mode():
    """The active run mode: $D2L_MODE, else `full` with a GPU, `quick`
    without."""
    return shared.run_mode(num_gpus() > 0)


# --------------------------------------------------------------------------
# Memory of one training step
# --------------------------------------------------------------------------

# Tensors of the forward pass that are no activations: the step's inputs,
# constants, and the weights (read from variables), held with or without a
# backward pass.
_NOT_KEPT_FOR_BACKWARD = {'Placeholder', 'Const', 'ReadVariableOp',
                          'VarHandleOp'}


def _tensors_kept_for_backward(graph, num_forward_ops):
    """Bytes of the distinct tensors that the forward part of a traced
    training step (its first `num_forward_ops` operations) hands to the
    gradient part: what the graph must keep alive until the backward pass
    reads it. Counted from the graph before Grappler optimises it."""
    operations = graph.get_operations()
    forward = set(operations[:num_forward_ops])
    kept = {}
    for op in operations[num_forward_ops:]:
        for t in op.inputs:
            if (t.op in forward and t.op.type not in _NOT_KEPT_FOR_BACKWARD
                    and t.dtype != tf.resource):
                kept[t.name] = t.shape.num_elements() * t.dtype.size
    return sum(kept.values())


def _allocator_peak_counter(device):
    """TensorFlow's own allocator counter for `device` ('CPU:0', 'GPU:0'), as
    a (reset, read) pair, or None where this build does not keep one (the
    CPU's oneDNN allocator does; malloc does not)."""
    try:
        tf.config.experimental.reset_memory_stats(device)
        tf.config.experimental.get_memory_info(device)
    except (ValueError, tf.errors.OpError):
        return None
    info = tf.config.experimental.get_memory_info
    state = {}

    def reset():
        tf.config.experimental.reset_memory_stats(device)
        state['start'] = info(device)['current']

    def read():
        return info(device)['peak'] - state['start']
    return reset, read


def _traced_training_step(model, X, y):
    """One training step of `model` (forward under a GradientTape, loss,
    gradients, SGD update) as a `tf.function` traced for (X, y), and the
    bytes its forward part keeps for the gradient part, counted from the
    traced graph. The step is traced, not run (an unbuilt model is built
    first, from one example's inference pass)."""
    if not model.built:
        model(X[:1], training=False)
    optim = model.configure_optimizers()
    optim.build(model.trainable_variables)
    forward_ops = {}

    @tf.function
    def step(X, y):
        with tf.GradientTape() as tape:
            loss = model.loss(model(X, training=True), y)
        # Tracing runs this line once: everything after it is backward pass.
        forward_ops['count'] = len(
            tf.compat.v1.get_default_graph().get_operations())
        variables = model.trainable_variables
        optim.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    graph = step.get_concrete_function(X, y).graph
    return step, _tensors_kept_for_backward(graph, forward_ops['count'])


def measure_kept_bytes(model, batch):
    """The bytes one training step of `model` on `batch` (X, y) keeps for its
    backward pass: `measure_training_step(model, batch).kept_bytes`, from the
    traced graph alone. Nothing is run, which saves the graph's optimisation
    and the steps themselves (tens of seconds for a large model)."""
    return _traced_training_step(model, *batch)[1]


def measure_training_step(model, batch, label='', warmup=1, repeats=3):
    """Memory and time of one compiled training step of `model` on `batch`
    (X, y): forward under a GradientTape, loss, gradients and an SGD update,
    in one `tf.function`, as `shared.StepMemory`.

    - kept_bytes: the tensors of the traced forward pass that its gradient
      part reads (`_tensors_kept_for_backward`), counted from the graph.
    - peak_bytes: TensorFlow's allocator peak during one step above what it
      held before (its counter is reset before each step), median of
      `repeats` steps; where the allocator keeps no counter, the process'
      resident-memory peak (`HostPeakMemory`).
    - seconds: the median time of one step after `warmup` steps; tracing is
      excluded.

    Every weight and BatchNorm statistic is put back afterwards, so two
    models with the same weights can be measured in either order.
    """
    X, y = batch
    # Tracing builds the model if needed and changes no weight.
    step, kept = _traced_training_step(model, X, y)
    saved = [v.numpy() for v in model.weights]
    for _ in range(warmup):
        step(X, y).numpy()
    device = 'GPU:0' if num_gpus() else 'CPU:0'
    counter = _allocator_peak_counter(device)
    peaks, seconds = [], []
    for _ in range(repeats):
        if counter:
            counter[0]()
        with shared.HostPeakMemory() as host:
            start = time.perf_counter()
            step(X, y).numpy()  # .numpy() waits for the step to finish
            seconds.append(time.perf_counter() - start)
        peaks.append(counter[1]() if counter else host.peak_bytes)
    for variable, value in zip(model.weights, saved):
        variable.assign(value)
    peak_source = (f'TF allocator peak ({device})' if counter
                   else 'VmHWM (CPU, process)')
    return shared.StepMemory(
        label=label, peak_bytes=int(np.median(peaks)), kept_bytes=kept,
        seconds=float(np.median(seconds)), peak_source=peak_source,
        kept_source='forward tensors read by the gradient graph')


# A value for the chapter's prose ({glue}`name`): framework-free.
glue = shared.glue
