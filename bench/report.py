"""Framework-free timing and printing for the Trainer-overhead benchmarks."""
import time


def examples_per_second(run_steps, num_examples, repeats=3):
    """Best of `repeats` timings of `run_steps()`, which trains on
    `num_examples` examples and returns once all work has finished."""
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        run_steps()
        best = min(best, time.perf_counter() - start)
    return num_examples / best


def print_comparison(framework, trainer_eps, hand_eps, detail=''):
    overhead = hand_eps / trainer_eps - 1
    print(f'{framework:<11} d2l_local.Trainer {trainer_eps:9.1f} examples/s | '
          f'hand-written loop {hand_eps:9.1f} examples/s | '
          f'ratio {trainer_eps / hand_eps:.3f} | overhead {overhead:+.1%}'
          + (f' | {detail}' if detail else ''))
