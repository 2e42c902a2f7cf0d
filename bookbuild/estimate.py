"""Before a full-mode build on a CPU: how long each framework's training will
take, from a few training steps measured in its environment.

Full mode trains the DenseNet chapter's model as the text says (10 epochs of
60,000 images at 96x96), which takes hours on a CPU. The build says so up
front, one line per framework, and goes on (CI has no one to answer a
question). The probe is bench/throughput.py's `--estimate`: the chapter's own
model and Trainer for a few steps at full mode's image size; it reports the
measured examples per second and full mode's workload (epochs from the
chapter, examples from d2l_local's run mode and the data files).
"""
import json
import pathlib
import statistics
import subprocess

# Where a probe did not time its validation: a validation step runs the
# forward pass only, about a third of a training step's work (the backward
# pass costs about twice the forward).
VALIDATION_SPEEDUP = 3.0
PROBE_STEPS = 2          # measured training steps per framework
PROBE_TIMEOUT = 120      # seconds per framework before the probe gives up
RESULT = 'THROUGHPUT-RESULT '  # bench/throughput.py's result line


def training_seconds(epochs, validations=None):
    """The training part of each measured epoch (`epochs`, wall-clock or CPU
    seconds): the epoch less its validation pass, where the probe timed
    those (`validations`: one per epoch, the warm-up's first)."""
    if not validations:
        return list(epochs)
    return [epoch - val for epoch, val in zip(epochs, validations[1:])]


def examples_per_second(figures):
    """Training examples per second of the probe's measured epoch(s)."""
    images = figures['steps'] * figures['batch']
    return images / statistics.median(
        training_seconds(figures['epoch_s'], figures.get('val_s')))


def validation_examples_per_second(figures):
    """Validation examples per second of the measured epochs' validation
    passes, or None where the probe did not time them."""
    if not figures.get('val_s') or len(figures['val_s']) < 2:
        return None
    return figures['val_images'] / statistics.median(figures['val_s'][1:])


def full_mode_seconds(figures):
    """Seconds of full mode's training and validation at the measured
    speeds: epochs x (training examples / training speed + validation
    examples / validation speed), the latter VALIDATION_SPEEDUP times the
    training speed where it was not measured."""
    speed = examples_per_second(figures)
    val_speed = (validation_examples_per_second(figures)
                 or VALIDATION_SPEEDUP * speed)
    per_epoch = (figures['train_examples'] / speed +
                 figures['val_examples'] / val_speed)
    return figures['epochs'] * per_epoch


def duration(seconds):
    """`2 h 05 min`, `7 min`, `45 s`."""
    seconds = round(seconds)
    if seconds < 60:
        return f'{seconds} s'
    minutes = round(seconds / 60)
    if minutes < 60:
        return f'{minutes} min'
    return f'{minutes // 60} h {minutes % 60:02d} min'


def estimate_line(framework, figures):
    """One line: the framework's expected time for full mode, and what the
    figure rests on."""
    return (f'full mode on this CPU, {framework}: about '
            f'{duration(full_mode_seconds(figures))} for the DenseNet '
            f"chapter's training ({figures['epochs']} epochs of "
            f"{figures['train_examples']:,} training and "
            f"{figures['val_examples']:,} validation images at "
            f"{figures['side']}x{figures['side']}; "
            f'{examples_per_second(figures):,.0f} training examples/s '
            f"measured over {figures['steps']} steps)")


def estimate_lines(figures_by_framework):
    return [estimate_line(fw, figures) if 'epoch_s' in figures else
            f'full mode on this CPU, {fw}: no estimate '
            f"({figures['error']})"
            for fw, figures in figures_by_framework.items()]


def probe(root, framework, steps=PROBE_STEPS, timeout=PROBE_TIMEOUT):
    """bench/throughput.py --estimate in the framework's environment: its
    figures, or {'error': why} (an estimate is advice: it never stops the
    build)."""
    root = pathlib.Path(root)
    python = root / '.venv' / framework / 'bin' / 'python'
    if not python.is_file():
        return {'error': f'{python}: no such environment'}
    cmd = [str(python), str(root / 'bench' / 'throughput.py'), '--framework',
           framework, '--estimate', '--steps', str(steps), '--repeats', '1']
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, cwd=root)
    except subprocess.TimeoutExpired:
        return {'error': f'the probe took over {timeout} s'}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    last = (proc.stderr.strip().splitlines() or ['no output'])[-1]
    return {'error': f'the probe failed (exit {proc.returncode}): {last}'}


def announce(root, frameworks, say, run_probe=probe):
    """Probe each framework and `say` its line; returns the figures."""
    figures = {}
    for fw in frameworks:
        figures[fw] = run_probe(root, fw)
        say(estimate_lines({fw: figures[fw]})[0])
    return figures
