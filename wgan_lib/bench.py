"""`python -m wgan_lib bench`: the stacked trainer's speed, measured in one process.

A run-iteration is one batch of the post's loop for one run (n_critic critic updates and one
generator update). Measured one after another, on the same machine state, on one thread (as every
stack trains; `--jobs N` trains N stacks side by side):
- stacks of the success case with E = 1 and E = 11 runs, every case of the set `cases` in one
  stack, and ten seeds of every case;
- the compiled C++ kernels against their torch twins (the same numbers; `kernels.py`), on the
  stack of eleven, in alternating blocks so that a change in the machine's load hits both;
- the work no trainer of this computation can avoid: the matrix products and ELUs of a critic and
  a generator update of the stack of eleven (no loss, optimiser, clipping or random numbers).
Each line gives milliseconds per run-iteration, the ratio to the stack of one, and the peak memory
so far; the last lines give the wall time that the post's schedule (195 batches x 1000 epochs)
implies for the stacks of the run set `cases` on N cores. Timings on a shared machine are noisy:
compare ratios from one invocation, not numbers across invocations.
"""
import os
import resource
import statistics
import time

import torch

from .cases import CASES
from .models import discriminator_sizes, generator_sizes, init_stacked_mlp, stacked_forward
from .train import StackTrainer

FULL_SCHEDULE_ITERATIONS = 195 * 1000


def _peak_memory_mb(device):
    if str(device).startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def seconds_per_call(step, iterations, warmup, device):
    """Seconds per call of `step(i)` over `iterations` calls, after `warmup` untimed ones."""
    for i in range(warmup):
        step(i)
    _sync(device)
    start = time.perf_counter()
    for i in range(iterations):
        step(warmup + i)
    _sync(device)
    return (time.perf_counter() - start) / iterations


def time_iterations(trainer, iterations, warmup, device):
    """Seconds per batch of `trainer` (one epoch's batches, repeated), after `warmup` untimed ones."""
    epoch = trainer.start_epoch()
    n = trainer.shared.batches_per_epoch
    return seconds_per_call(lambda b: trainer.train_batch(epoch, b % n), iterations, warmup, device)


def kernels_ratio(configs, iterations, rounds=3):
    """Median over `rounds` of (seconds per batch with the torch twins) / (with the compiled kernels),
    the two timed in alternating blocks; None when the kernels are not compiled here."""
    from . import kernels

    module = kernels.compiled()
    if module is None:
        return None
    ratios = []
    try:
        for _ in range(rounds):
            times = []
            for use in (True, False):
                kernels._module, kernels._reason = (module, None) if use else (None, "bench: torch twins")
                times.append(time_iterations(StackTrainer(configs), iterations, 2, "cpu"))
            ratios.append(times[1] / times[0])
    finally:
        kernels._module, kernels._reason = module, None
    return statistics.median(ratios)


def time_products_and_activations(config, n_runs, iterations, device):
    """Seconds per run of the unavoidable work of one critic update and one generator update."""
    gen = torch.Generator().manual_seed(0)
    g = [p.detach().to(device).requires_grad_() for p in init_stacked_mlp(generator_sizes(config), [gen] * n_runs)]
    d = [p.detach().to(device).requires_grad_() for p in init_stacked_mlp(discriminator_sizes(config), [gen] * n_runs)]
    noise = torch.rand(n_runs, config.batch_size, config.noise_dim, device=device)
    real = torch.rand(n_runs, config.batch_size, 2, device=device)

    def critic_update():
        with torch.no_grad():
            fake = stacked_forward(g, noise, config.activation)
        torch.autograd.grad(stacked_forward(d, torch.cat([real, fake], 1), config.activation).sum(), d)

    def generator_update():
        torch.autograd.grad(stacked_forward(d, stacked_forward(g, noise, config.activation), config.activation).sum(), g)

    return tuple(seconds_per_call(lambda _: update(), iterations, max(1, iterations // 10), device) / n_runs
                 for update in (critic_update, generator_update))


def run_benchmark(device="cpu", quick=False, profile=False):
    from .runner import estimated_cost, share_stacks
    from .runsets import get_run_set

    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)
        print(f"device: cpu ({torch.backends.cpu.get_cpu_capability()}), one thread, torch {torch.__version__}")
    else:
        print(f"device: {device} ({torch.cuda.get_device_name()}), torch {torch.__version__}")
    n = (lambda full: max(2, full // 25)) if quick else (lambda full: full)
    success = CASES["success"].config()
    cases = list(get_run_set("cases").configs)
    rows = []
    try:
        for label, configs, iterations in [
            ("success case", [success], n(100)),
            ("eleven success-case seeds", [success.replace(seed=s) for s in range(11)], n(50)),
            ("every case of the set 'cases'", cases, n(50)),
            ("ten seeds of every case", [c.replace(seed=c.seed + 1000 * s) for s in range(10) for c in cases], n(10)),
        ]:
            trainer = StackTrainer(configs, device=device)
            seconds = time_iterations(trainer, iterations, 1 if quick else 3, device)
            rows.append((label, len(configs), seconds / len(configs), _peak_memory_mb(device)))
            if profile and label.startswith("every case"):
                from torch.profiler import ProfilerActivity, profile as torch_profile

                epoch = trainer.start_epoch()
                with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                    for b in range(10):
                        trainer.train_batch(epoch, b)
                print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
            del trainer
        base = rows[0][2]
        print(f"{'stack':<34}{'E':>5}{'ms/run-it':>11}{'x E=1':>8}{'peak MB':>10}")
        for label, e, seconds, mem in rows:
            print(f"{label:<34}{e:>5}{1e3 * seconds:>11.3f}{base / seconds:>8.2f}{mem:>10.0f}")

        if device == "cpu":
            ratio = kernels_ratio([success.replace(seed=s) for s in range(11)], n(30))
            print("compiled kernels: " + ("not built here" if ratio is None else
                  f"the torch twins take {ratio:.2f}x as long per batch (stack of eleven, median of 3 alternations)"))
        critic, generator = time_products_and_activations(success, 11, n(100), device)
        print(f"products and ELUs only, stack of 11: critic update {1e3 * critic:.3f} ms/run, generator update "
              f"{1e3 * generator:.3f} ms/run ({1e3 * (critic + generator):.3f} ms per success-case run-iteration)")

        stacks = [[cases[i] for i in s] for s in get_run_set("cases").stack_indices()]
        cores = len(os.sched_getaffinity(0)) if device == "cpu" else 1
        shares = share_stacks(stacks, cores)
        per_stack = {}
        for i, stack in enumerate(stacks):
            trainer = StackTrainer(stack, device=device)
            per_stack[i] = time_iterations(trainer, n(20), 1 if quick else 2, device)
        longest = max(sum(per_stack[i] for i in share) for share in shares)
        print(f"the set 'cases' ({len(cases)} runs in {len(stacks)} stacks) at the post's schedule on {cores} "
              f"core(s): {FULL_SCHEDULE_ITERATIONS * longest / 60:.1f} min of training "
              f"(estimated from the cost model: {max(sum(estimated_cost(stacks[i]) for i in s) for s in shares) / 60:.1f})")
    finally:
        torch.set_num_threads(threads)
    return rows
