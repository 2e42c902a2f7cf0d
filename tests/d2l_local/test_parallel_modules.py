"""The four framework modules of d2l_local are parallel texts: the same
module-level names and the same members of every class, in the same order,
so that `diff d2l_local/torch.py d2l_local/tensorflow.py` shows what the
framework changes and nothing else. What only some frameworks need is listed
below, with the reason. The modules are read with `ast` (no framework is
imported), so this runs in any environment."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FRAMEWORKS = ('torch', 'mxnet', 'jax', 'tensorflow')

# (scope, name) -> the modules that have it; scope '' is the module itself,
# otherwise a class of it. Everything not listed must be in all four, in the
# same order.
OWN = {
    # Memory of a training step: how each framework counts what it keeps.
    ('', '_saved_bytes_hooks'): {'torch'},
    ('', '_release_pool'): {'mxnet'},
    ('', '_residual_bytes'): {'jax'},
    ('', '_training_loss'): {'jax'},
    ('', '_settle_host_memory'): {'jax'},
    ('', '_NOT_KEPT_FOR_BACKWARD'): {'tensorflow'},
    ('', '_tensors_kept_for_backward'): {'tensorflow'},
    ('', '_traced_training_step'): {'tensorflow'},
    ('', '_allocator_peak_counter'): {'tensorflow'},
    # PyTorch lets a tensor choose its layout: on the CPU the Trainer picks
    # channels-last (TensorFlow and Flax are channels-last already, MXNet's
    # oneDNN reorders internally).
    ('', '_memory_format'): {'torch'},
    ('', '_to_device'): {'torch'},
    # Gluon's deferred initialisation and its initializer objects.
    ('', '_initialised'): {'mxnet'},
    ('', '_CNNInit'): {'mxnet'},
    # Flax: nets are lists of layers that may take the training flag, the
    # training state is a pytree, keys are explicit.
    ('', '_layers'): {'jax'},
    ('', '_takes_training'): {'jax'},
    ('', '_apply_layer'): {'jax'},
    ('', '_layer_name'): {'jax'},
    ('', 'TrainState'): {'jax'},
    ('', '_CPU_COMPILER_OPTIONS'): {'jax'},
    ('', '_compiler_options'): {'jax'},
    ('', '_canonical_kernel'): {'jax'},
    ('', '_creation_order'): {'jax'},
    ('', '_reinit_in_creation_order'): {'jax'},
    ('', '_KEY_IMPL'): {'jax'},
    ('', '_key'): {'jax'},
    ('', 'get_key'): {'jax'},
    # Keras: compiled steps need input signatures; initializers are
    # objects that Keras calls while it builds.
    ('', '_compiled_step'): {'tensorflow'},
    ('', '_element_spec'): {'tensorflow'},
    ('', '_CanonicalGlorotUniform'): {'tensorflow'},
    # Keras 3 builds a custom layer without a build method by tracing it.
    ('', '_skip_building_by_tracing'): {'tensorflow'},
    ('', '_draw_canonical_weights'): {'tensorflow'},
    # Flax modules are dataclasses: fields instead of __init__, and what
    # the host changes while training lives outside the frozen fields.
    ('Module', '__init__'): {'torch', 'mxnet', 'tensorflow'},
    ('Module', 'plot_train_per_epoch'): {'jax'},
    ('Module', 'plot_valid_per_epoch'): {'jax'},
    ('Module', 'host'): {'jax'},
    ('Module', 'board'): {'jax'},
    ('Module', 'trainer'): {'jax'},
    ('Module', '__call__'): {'jax'},
    ('Module', '_variables'): {'jax'},
    # Lazy layers (PyTorch) and deferred initialisation (Gluon) need a
    # forward pass or a device before their shapes are known.
    ('Module', '_dry_run'): {'torch'},
    ('Module', '_zeros'): {'torch'},
    ('Module', '_start_weight_draws'): {'mxnet'},
    ('Module', '_device'): {'mxnet'},
    # A Keras layer is called through `call` and built from shapes.
    ('Module', 'call'): {'tensorflow'},
    ('Module', 'build'): {'tensorflow'},
    # MXNet queues work asynchronously: the Trainer bounds how far ahead.
    ('Trainer', 'max_steps_ahead'): {'mxnet'},
    # JAX and TensorFlow choose the device for a whole scope; PyTorch and
    # MXNet move each batch (prepare_batch; TensorFlow's leaves it as is).
    ('Trainer', '_device_scope'): {'jax', 'tensorflow'},
    ('Trainer', 'prepare_batch'): {'torch', 'mxnet', 'tensorflow'},
    ('Trainer', '_compile_steps'): {'tensorflow'},
    # JAX and TensorFlow clip inside their compiled step (optax's chain,
    # tf.clip_by_global_norm); PyTorch and MXNet between backward and step.
    ('Trainer', 'clip_gradients'): {'torch', 'mxnet'},
}


def _assigned(node):
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    return []


def outline(source):
    """{scope: [names in order]}: scope '' for the module's top-level
    definitions and assignments (imports left out), a class name for its
    methods and class attributes."""
    tree = ast.parse(source)
    scopes = {'': []}
    for node in tree.body:
        scopes[''] += [n for n in _assigned(node) if n != '__all__']
        if isinstance(node, ast.ClassDef):
            scopes[node.name] = [n for child in node.body
                                 for n in _assigned(child)]
    return scopes


def drift(outlines, own=OWN):
    """What breaks the parallel: a listed name in a module the list does
    not give it to (or missing from one it does), and scopes whose names,
    the listed ones left out, differ between modules in names or order."""
    problems = []
    for (scope, name), modules in own.items():
        having = {m for m, o in outlines.items() if name in o.get(scope, [])}
        if having and having != modules:
            problems.append(f'{scope or "module"}.{name}: in {sorted(having)}, '
                            f'listed for {sorted(modules)}')
    shared_scopes = [s for s in outlines[FRAMEWORKS[0]]
                     if all(s in o for o in outlines.values())]
    for scope in shared_scopes:
        common = {m: [n for n in o[scope] if (scope, n) not in own]
                  for m, o in outlines.items()}
        first = common[FRAMEWORKS[0]]
        for module, names in common.items():
            if names != first:
                problems.append(f'{scope or "module"}: {module} has {names}, '
                                f'{FRAMEWORKS[0]} {first}')
    return problems


def module_outlines():
    return {f: outline((ROOT / 'd2l_local' / f'{f}.py').read_text())
            for f in FRAMEWORKS}


def test_the_four_modules_have_the_same_names_in_the_same_order():
    assert drift(module_outlines()) == []


def test_every_class_the_chapters_use_is_in_all_four():
    outlines = module_outlines()
    for cls in ('Module', 'Classifier', 'DataModule', 'FashionMNIST',
                'Trainer'):
        assert all(cls in o for o in outlines.values()), cls


def test_every_listed_name_is_still_there():
    """A name that left every module is no exception any more."""
    outlines = module_outlines()
    for (scope, name), modules in OWN.items():
        for module in modules:
            assert name in outlines[module].get(scope, []), (module, scope,
                                                             name)


@pytest.mark.parametrize('edit, complaint', [
    # two methods swapped in one module
    (lambda s: s.replace('    def _validate(self):\n        pass\n', '')
     .replace('    def fit_epoch(self):\n',
              '    def _validate(self):\n        pass\n\n'
              '    def fit_epoch(self):\n'), 'Trainer: tensorflow has'),
    # a method only one module has, not listed
    (lambda s: s + '\n\ndef _helper():\n    pass\n', 'module: tensorflow has'),
    # a listed name moved to a module it is not listed for
    (lambda s: s.replace('class Trainer:\n',
                         'class Trainer:\n    max_steps_ahead = 2\n'),
     'Trainer.max_steps_ahead'),
])
def test_drift_is_reported(edit, complaint):
    source = ('class Trainer:\n    def fit_epoch(self):\n        pass\n\n'
              '    def _validate(self):\n        pass\n')
    outlines = {f: outline(source) for f in FRAMEWORKS}
    assert drift(outlines, own={}) == []
    outlines['tensorflow'] = outline(edit(source))
    own = {('Trainer', 'max_steps_ahead'): {'mxnet'}}
    assert any(complaint in p for p in drift(outlines, own=own)), \
        drift(outlines, own=own)
