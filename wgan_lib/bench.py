"""`python -m wgan_lib bench`: training speed of the plain loop and the stacked trainer, in one process.

A run-iteration is one batch of the post's loop for one run (n_critic critic updates and one
generator update). Measured, in this order and on the same machine state:
- the plain loop (`ReferenceTrainer`, the success case);
- the stacked trainer with E = 1 (the success case), every case of `reproduce` in one stack
  (failure-6's n_critic = 5, the Coulomb potential and WGAN-GP's double backward included) and ten
  seeds of every case; and, for the raw speed of the batched program, eleven success-case runs.
Each line gives run-iterations per second, the ratio to the plain loop, and the peak memory so
far; the last lines give the wall time that the post's full schedule (195 batches x 1000 epochs)
implies for every case and for ten seeds of each, and, on a CPU, for the eleven runs of the post's
comparison split as `reproduce --jobs N` splits them (N the cores this process may use; each
shard's stack timed on one thread). A last measurement times the work no trainer of
this computation can avoid: the matrix products and ELUs of a critic update and of a generator
update (forward and backward, float32, the stack of eleven), with no loss, optimiser, clipping or
random numbers; summed over the cases' updates it bounds from below the time of `reproduce`
with torch's kernels on this device, and its ratio to the plain loop bounds the speed-up any
stacked trainer can reach.

On a CPU with several threads, OpenMP's wait policy matters and is printed: `wgan_lib` sets
OMP_WAIT_POLICY=PASSIVE unless it is set already (see `wgan_lib/__init__.py`), which slows the
plain loop more than the stacked trainer on an idle machine; run
`OMP_WAIT_POLICY=ACTIVE python -m wgan_lib bench` (or one thread) to compare against the plain
loop at its fastest. Timings on a shared machine are noisy: compare ratios
from one invocation, not numbers across invocations.
"""
import os
import resource
import time

import torch

from .cases import CASES
from .models import discriminator_sizes, generator_sizes, init_stacked_mlp, stacked_forward
from .train import ReferenceTrainer, StackTrainer

FULL_SCHEDULE_ITERATIONS = 195 * 1000


def _peak_memory_mb(device):
    if str(device).startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _seconds_per_call(step, iterations, warmup, device):
    """Seconds per call of `step(i)` over `iterations` calls, after `warmup` untimed ones."""
    for i in range(warmup):
        step(i)
    _sync(device)
    start = time.perf_counter()
    for i in range(iterations):
        step(warmup + i)
    _sync(device)
    return (time.perf_counter() - start) / iterations


def time_iterations(trainer, n_batches, iterations, warmup, device):
    """Seconds per iteration of `trainer.train_batch`, after `warmup` untimed ones."""
    trainer.begin_epoch()
    return _seconds_per_call(lambda b: trainer.train_batch(b % n_batches), iterations, warmup, device)


def time_shards(configs, jobs, n_batches, iterations, warmup):
    """Seconds per batch of each shard's stack of `reproduce --jobs`, on one thread each."""
    from .runner import shard_configs

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [time_iterations(StackTrainer(shard), n_batches, iterations, warmup, "cpu")
                for shard in (shard_configs(configs, (k, jobs)) for k in range(jobs)) if shard]
    finally:
        torch.set_num_threads(threads)


def every_case(seeds=1):
    """Every registered case (the post's eleven and wgan-gp), `seeds` seeds each."""
    return [case.config(seed=case.config().seed + 1000 * s) for s in range(seeds) for case in CASES.values()]


def time_products_and_activations(config, n_runs, iterations, device):
    """Seconds per run of the unavoidable work of one critic update and one generator update.

    Critic update: G forward on a batch of noise (no gradient), D forward and backward on the
    real and fake batch. Generator update: G and D forward on a batch of noise, backward to G's
    weights. Returns (critic, generator) seconds per run.
    """
    gen = torch.Generator().manual_seed(0)
    g = [p.detach().to(device).requires_grad_() for p in init_stacked_mlp(generator_sizes(config), [gen] * n_runs)]
    d = [p.detach().to(device).requires_grad_() for p in init_stacked_mlp(discriminator_sizes(config), [gen] * n_runs)]
    batch = config.batch_size
    noise = torch.rand(n_runs, batch, config.noise_dim, device=device)
    real = torch.rand(n_runs, batch, 2, device=device)

    def critic_update():
        with torch.no_grad():
            fake = stacked_forward(g, noise, config.activation)
        out = stacked_forward(d, torch.cat([real, fake], 1), config.activation)
        torch.autograd.grad(out.sum(), d)

    def generator_update():
        out = stacked_forward(d, stacked_forward(g, noise, config.activation), config.activation)
        torch.autograd.grad(out.sum(), g)

    return tuple(_seconds_per_call(lambda _: update(), iterations, max(1, iterations // 10), device) / n_runs
                 for update in (critic_update, generator_update))


def run_benchmark(device="cpu", quick=False, profile=False):
    torch.manual_seed(0)
    if device == "cpu":
        policy = os.environ.get("OMP_WAIT_POLICY", "unset")
        print(f"device: cpu, {torch.get_num_threads()} threads, OMP_WAIT_POLICY {policy}, torch {torch.__version__}")
    else:
        print(f"device: {device} ({torch.cuda.get_device_name()}), torch {torch.__version__}")
    success = CASES["success"].config()
    n = (lambda full: max(2, full // 25)) if quick else (lambda full: full)
    rows = []

    plain = ReferenceTrainer(success)
    seconds = time_iterations(plain, success.batches_per_epoch, n(100), n(10) // 2 + 1, "cpu")
    plain_rate = 1.0 / seconds
    rows.append(("plain loop (cpu), success case", 1, plain_rate, _peak_memory_mb("cpu")))
    # Right after the plain loop, whose speed it bounds: the two are compared as a ratio.
    critic, generator = time_products_and_activations(success, 11, n(100), device)

    for label, configs, iterations in [
        ("stacked, success case", [success], n(100)),
        ("stacked, eleven success-case seeds", [success.replace(seed=s) for s in range(11)], n(50)),
        ("stacked, every case", every_case(), n(50)),
        ("stacked, ten seeds of every case", every_case(10), n(10)),
    ]:
        trainer = StackTrainer(configs, device=device)
        seconds = time_iterations(trainer, success.batches_per_epoch, iterations, 1 if quick else 3, device)
        rows.append((f"{label} ({device})", len(configs), len(configs) / seconds, _peak_memory_mb(device)))
        if profile and label.endswith("every case"):
            from torch.profiler import ProfilerActivity, profile as torch_profile

            with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
                for b in range(10):
                    trainer.train_batch(b)
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
        del trainer

    print(f"{'trainer':<48}{'E':>5}{'run-it/s':>11}{'ms/run-it':>11}{'x plain':>9}{'peak MB':>10}")
    for label, e, rate, mem in rows:
        print(f"{label:<48}{e:>5}{rate:>11.1f}{1e3 / rate:>11.3f}{rate / plain_rate:>9.2f}{mem:>10.0f}")
    n_cases, n_seeds = rows[3][1], rows[4][1]
    every, seeds = rows[3][2] / n_cases, rows[4][2] / n_seeds  # stack iterations per second
    print(f"implied wall time of the post's schedule ({FULL_SCHEDULE_ITERATIONS} iterations):")
    print(f"  {n_cases} cases, plain loop one after another: {n_cases * FULL_SCHEDULE_ITERATIONS / plain_rate / 60:8.1f} min"
          " (failure-6's n_critic = 5 not counted)")
    print(f"  {n_cases} cases, one stack:                    {FULL_SCHEDULE_ITERATIONS / every / 60:8.1f} min")
    print(f"  {n_seeds} runs (ten seeds each), one stack:     {FULL_SCHEDULE_ITERATIONS / seeds / 60:8.1f} min")
    print("  (training only; snapshots and metrics add about 1 s per run per snapshot)")

    eleven = [c for c in every_case() if c.case != "wgan-gp"]  # the post's nine runs, standard and Coulomb GAN
    if device == "cpu":
        jobs = len(os.sched_getaffinity(0))
        shard_seconds = time_shards(eleven, jobs, success.batches_per_epoch, n(50), 1 if quick else 3)
        print(f"  {len(eleven)} runs of the post's comparison as {jobs} single-threaded processes "
              f"(reproduce --jobs {jobs}): {FULL_SCHEDULE_ITERATIONS * max(shard_seconds) / 60:.1f} min "
              f"(its shards' stacks timed one after another: "
              + ", ".join(f"{1e3 * s:.2f}" for s in shard_seconds) + " ms per batch; side by side they compete "
              "for the caches and memory)")
    per_case = [c.n_critic * critic + generator for c in eleven]
    floor_rate = 1.0 / (critic + generator)
    print(f"products and ELUs only, stack of 11 ({device}): critic update {critic * 1e3:.3f} ms/run, "
          f"generator update {generator * 1e3:.3f} ms/run")
    print(f"  {floor_rate / plain_rate:.2f} x the plain loop: the most any stacked trainer of the success case"
          " can reach here with these kernels")
    print(f"  lower bound for the {len(eleven)} runs of the post's comparison: {FULL_SCHEDULE_ITERATIONS * sum(per_case) / 60:8.1f} min"
          " (no loss, optimiser, clipping, noise; Coulomb and WGAN-GP extras not counted)")
    return rows
