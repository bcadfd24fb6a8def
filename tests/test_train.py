"""Tests of wgan_lib.train: the stacked trainer against itself, a run alone, the plain one-run loop
of tests/oracle.py, and the post's schedule (book chapter "Sources").

Most tests use a small problem (64 points per centre, batch 64: 25 batches per epoch; width 16)
so that the suite stays fast on 2 shared cores; the last ones use the cases' full data size.

Tolerances between runs computed by different code paths (a run alone or in a stack, the stacked
or the plain loop) come from float32 rounding: batched products of different batch counts, a
transposed weight layout in nn.Linear and in-place versus out-of-place ELU round differently, by
~1 ulp (6e-8 relative) per operation. Over 10-25 iterations with lr <= 1e-3 the measured
parameter differences are <= 6e-8; the tests allow 1e-5, still 100x below a single Adam step
(~lr = 1e-3), so any difference of substance (another noise draw, a missing clip, a skipped or
extra critic step, another loss) fails them.
"""
import io
import math

import numpy as np
import pytest
import torch

from oracle import train_reference
from wgan_lib import CASES, Config, StackTrainer
from wgan_lib.models import (build_mlp, discriminator_sizes, generator_sizes, init_stacked_mlp,
                             sequential_to_stacked)
from wgan_lib.train import run_generators

SMALL = dict(samples_per_center=64, batch_size=64, epochs=2, n_eval_samples=200, plot_resolution=11,
             g_width=16, d_width=16)
ATOL = 1e-5  # see the module docstring



def small(**changes):
    return Config().replace(**{**SMALL, **changes})


def run_params(trainer, e):
    """Run e's parameters [G W0, G b0, ..., D W0, ...] as detached copies."""
    return [p[e].detach().clone() for p in trainer.g_params + trainer.d_params]


def assert_params_close(a, b, atol=ATOL):
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.shape == y.shape, i
        torch.testing.assert_close(x, y, rtol=0, atol=atol, msg=lambda m: f"tensor {i}: {m}")


def same_floats(a, b):
    """Lists of floats equal bit for bit (NaN equal to NaN)."""
    return len(a) == len(b) and all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


def train_batches(configs, n_batches=10):
    trainer = StackTrainer(configs)
    trainer.epoch_in_progress = trainer.start_epoch()
    for b in range(n_batches):
        trainer.train_batch(trainer.epoch_in_progress, b)
    return trainer


# ----------------------------------------------------------------------------- (a) determinism


def test_two_trainings_are_bit_identical():
    configs = [small(seed=0), small(seed=1, loss="coulomb", clip=None, noise="normal"),
               small(seed=2, loss="wgan-gp", n_critic=2, clip=None, lr=1e-3), small(seed=3, loss="standard", clip=None)]
    a, b = StackTrainer(configs), StackTrainer(configs)
    a.train()
    b.train()
    for net in ("g", "d"):
        for key in ("flat", "exp_avg", "exp_avg_sq", "iterations"):
            assert torch.equal(a.nets[net][key], b.nets[net][key]), (net, key)
    for la, lb in zip(a.logs, b.logs):
        assert la.status == lb.status == "completed"
        for key in la.epoch_logs:
            assert same_floats(la.epoch_logs[key], lb.epoch_logs[key]), key
            assert len(la.epoch_logs[key]) == 2
        assert la.metrics == lb.metrics and la.snapshot_epochs == lb.snapshot_epochs == [0, 1]
        for x, y in zip(la.samples + la.d_grid, lb.samples + lb.d_grid):
            assert np.array_equal(x, y)


# ----------------------------------------------------------------------------- (b) alone vs in a stack


def _stack_around(run_under_test):
    """A stack of five: four other runs (other seeds, lrs, clips, losses, noise, n_critic 1 and 3)
    and the run under test third."""
    others = [small(seed=11, lr=2e-4, loss="coulomb", clip=None),
              small(seed=12, lr=5e-4, loss="standard", clip=None),
              small(seed=13, lr=1e-3, loss="wgan", clip=0.01, n_critic=3),
              small(seed=14, lr=3e-4, loss="wgan-gp", clip=None, noise="normal")]
    return others[:2] + [run_under_test] + others[2:], 2


def test_run_alone_equals_run_in_stack_n_critic_1():
    x = small(seed=3, lr=1e-3, loss="wgan", clip=0.1, n_critic=1)
    configs, pos = _stack_around(x)
    alone, stacked = train_batches([x]), train_batches(configs)
    assert_params_close(run_params(alone, 0), run_params(stacked, pos))
    assert stacked.nets["d"]["iterations"][:, 0].tolist() == [10, 10, 10, 30, 10]
    assert alone.nets["d"]["iterations"][0, 0].item() == 10


@pytest.mark.parametrize("loss, extra", [
    ("wgan", dict(clip=0.05)),
    ("coulomb", dict(clip=None, coulomb_dim=4.0, coulomb_eps=0.5)),  # per-run kernel settings
    ("wgan-gp", dict(clip=None, gp_lambda=5.0)),
    ("standard", dict(clip=None, noise="normal")),
])
def test_run_alone_equals_run_in_stack_n_critic_2(loss, extra):
    """n_critic 2 among runs with n_critic 1 and 3: the run's second critic update goes through
    the trainer's path for a subset of the runs."""
    x = small(seed=5, lr=1e-3, loss=loss, n_critic=2, **extra)
    configs, pos = _stack_around(x)
    alone, stacked = train_batches([x]), train_batches(configs)
    assert_params_close(run_params(alone, 0), run_params(stacked, pos))
    for net in ("d", "g"):
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(alone.nets[net][key][0], stacked.nets[net][key][pos], rtol=0, atol=ATOL)
    assert stacked.nets["d"]["iterations"][:, 0].tolist() == [10, 10, 20, 30, 10]


# ----------------------------------------------------------------------------- (c) plain loop vs stack


@pytest.mark.parametrize("config", [
    small(epochs=1, loss="standard", clip=None, lr=1e-3),
    small(epochs=1, loss="wgan", clip=0.1, lr=1e-3, seed=1),
    small(epochs=1, loss="coulomb", clip=None, lr=1e-3, noise="normal", seed=2),
    small(epochs=1, loss="wgan-gp", clip=None, lr=1e-3, n_critic=2, seed=3),
    small(epochs=1, loss="lsgan", clip=None, lr=1e-3, seed=4),
], ids=lambda c: c.loss)
def test_reference_loop_equals_stack_of_one(config):
    log, generator, discriminator = train_reference(config)
    trainer = StackTrainer([config])
    trainer.train()
    assert log.status == trainer.logs[0].status == "completed"
    plain = [p[0] for p in sequential_to_stacked(generator) + sequential_to_stacked(discriminator)]  # E = 1
    assert_params_close(plain, run_params(trainer, 0))
    stacked_log = trainer.logs[0]
    for key in ("d_loss", "g_loss"):
        # Means of 25 float32 losses accumulated in float64: rtol 1e-5 (measured 1e-8) covers the
        # float32 differences of the two code paths.
        np.testing.assert_allclose(log.epoch_logs[key], stacked_log.epoch_logs[key], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- (d) clipping


def test_clipping_bounds_every_discriminator_weight():
    configs = [small(seed=0, lr=1e-2, clip=0.01), small(seed=1, lr=1e-2, clip=0.1, n_critic=3),
               small(seed=2, lr=1e-2, clip=None)]
    trainer = train_batches(configs, n_batches=1)
    flat = trainer.nets["d"]["flat"].detach()
    for e, c in enumerate(configs[:2]):
        bound = torch.tensor(c.clip, dtype=torch.float32)
        assert flat[e].abs().max() <= bound, e
        # Glorot bounds here are 0.43-0.59 >> clip: many weights sit exactly at +-clip (at 0.01
        # most of them; measured 222 of 609 at 0.1).
        at_bound = (flat[e].abs() == bound).sum().item()
        assert at_bound > (flat.shape[1] // 2 if c.clip == 0.01 else 50), (e, at_bound)
        assert (flat[e] == bound).any() and (flat[e] == -bound).any()
        # Only D is clipped.
        assert trainer.nets["g"]["flat"][e].detach().abs().max() > 0.1
    assert flat[2].abs().max() > 0.1  # the unclipped run in the same stack exceeds the bounds
    for p in trainer.d_params:  # the layer views see the clipped values too
        assert p[0].detach().abs().max() <= torch.tensor(0.01, dtype=torch.float32)


# ----------------------------------------------------------------------------- (e) n_critic


def test_critic_iterations_advance_n_critic_times_per_batch():
    configs = [small(seed=0, n_critic=1), small(seed=1, n_critic=2), small(seed=2, n_critic=5, loss="wgan-gp")]
    trainer = train_batches(configs, n_batches=3)
    assert trainer.nets["d"]["iterations"][:, 0].tolist() == [3, 6, 15]
    assert trainer.nets["g"]["iterations"][:, 0].tolist() == [3, 3, 3]
    for b in range(3, configs[0].batches_per_epoch):
        trainer.train_batch(trainer.epoch_in_progress, b)
    trainer.finish_epoch(trainer.epoch_in_progress)
    n = configs[0].batches_per_epoch  # 25
    assert trainer.nets["d"]["iterations"][:, 0].tolist() == [n, 2 * n, 5 * n]
    assert trainer.nets["g"]["iterations"][:, 0].tolist() == [n, n, n]


# ----------------------------------------------------------------------------- (f) divergence


def test_diverging_run_is_stopped_and_the_others_train_on():
    healthy = [small(seed=1, lr=1e-3), small(seed=2, loss="coulomb", clip=None, lr=1e-3)]
    # lr 1e30 without clipping: the first update puts the weights near 1e30, D overflows, NaN follows.
    diverging = small(seed=0, lr=1e30, clip=None)
    trainer = StackTrainer([diverging] + healthy)
    trainer.train()
    bad = trainer.logs[0]
    assert bad.status == "diverged" and bad.failed_epoch == 0
    assert "became" in bad.reason and "nan" in bad.reason.lower()
    assert len(bad.epoch_logs["d_loss"]) == 1 and bad.snapshot_epochs == []
    for log in trainer.logs[1:]:
        assert log.status == "completed" and log.failed_epoch is None and log.reason is None
        assert len(log.epoch_logs["d_loss"]) == 2 and log.snapshot_epochs == [0, 1]
        assert all(math.isfinite(v) for vs in log.epoch_logs.values() for v in vs)
    # The NaN run does not leak into the others: they train as in a stack without it.
    clean = StackTrainer(healthy)
    clean.train()
    for e in range(2):
        assert_params_close(run_params(trainer, e + 1), run_params(clean, e))
        for key in ("d_loss", "g_loss"):
            np.testing.assert_allclose(trainer.logs[e + 1].epoch_logs[key], clean.logs[e].epoch_logs[key], rtol=1e-5)


def test_nan_weights_mark_a_run_diverged_at_that_epoch():
    configs = [small(seed=0), small(seed=1), small(seed=2, loss="standard", clip=None)]
    trainer = StackTrainer(configs)
    trainer.train_epoch()
    with torch.no_grad():
        trainer.nets["d"]["flat"][1, 0] = float("nan")
    trainer.train_epoch()
    assert [log.status for log in trainer.logs] == ["completed", "diverged", "completed"]
    assert trainer.logs[1].failed_epoch == 1 and trainer.logs[1].reason
    assert len(trainer.logs[1].epoch_logs["d_min"]) == 1  # recorded while it was alive
    assert trainer.logs[0].snapshot_epochs == trainer.logs[2].snapshot_epochs == [0, 1]
    assert trainer.logs[1].snapshot_epochs == [0]


# ----------------------------------------------------------------------------- (g) checkpoints


CHECKPOINT_CONFIGS = [small(seed=0), small(seed=1, loss="wgan-gp", n_critic=2, clip=None, noise="normal"),
                      small(seed=2, loss="coulomb", clip=None, lr=1e-3)]


def _assert_same_trainer(a, b):
    assert a.epoch == b.epoch
    for net in ("g", "d"):
        for key in ("flat", "exp_avg", "exp_avg_sq", "iterations"):
            assert torch.equal(a.nets[net][key], b.nets[net][key]), (net, key)
    assert torch.equal(a.data, b.data)
    for la, lb in zip(a.logs, b.logs):
        assert (la.status, la.failed_epoch, la.reason) == (lb.status, lb.failed_epoch, lb.reason)
        for key in la.epoch_logs:
            assert same_floats(la.epoch_logs[key], lb.epoch_logs[key]), key
        assert la.snapshot_epochs == lb.snapshot_epochs and la.metrics == lb.metrics
        for x, y in zip(la.samples + la.d_grid, lb.samples + lb.d_grid):
            assert np.array_equal(x, y)


def test_checkpoint_round_trip_continues_identically():
    first = StackTrainer(CHECKPOINT_CONFIGS)
    first.train_epoch()
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    second = StackTrainer(CHECKPOINT_CONFIGS)
    second.load_state_dict(torch.load(buffer, weights_only=True))
    _assert_same_trainer(first, second)
    first.train_epoch()
    second.train_epoch()
    _assert_same_trainer(first, second)
    assert [log.status for log in second.logs] == ["completed"] * 3
    assert all(len(log.epoch_logs["d_loss"]) == 2 for log in second.logs)


def test_in_memory_state_dict_gives_an_independent_trainer():
    """state_dict() 'is everything needed to continue exactly': loading it into another trainer
    without a torch.save in between must not tie the two trainers' records together."""
    first = StackTrainer(CHECKPOINT_CONFIGS)
    first.train_epoch()
    second = StackTrainer(CHECKPOINT_CONFIGS)
    second.load_state_dict(first.state_dict())
    first.train_epoch()
    second.train_epoch()
    for log in first.logs + second.logs:
        assert len(log.epoch_logs["d_loss"]) == 2, log.epoch_logs["d_loss"]
        assert log.snapshot_epochs == [0, 1], log.snapshot_epochs
    _assert_same_trainer(first, second)


# ----------------------------------------------------------------------------- (h) every case, full size


def test_every_case_two_epochs_at_full_data_size_in_one_stack():
    configs = [case.config(epochs=2, n_eval_samples=500, plot_resolution=21) for case in CASES.values()]
    assert {c.loss for c in configs} == {"standard", "wgan", "coulomb", "wgan-gp", "lsgan"}
    assert {(c.samples_per_center, c.batch_size) for c in configs} == {(4000, 512)}
    trainer = StackTrainer(configs)
    trainer.train()
    n = configs[0].batches_per_epoch
    assert n == 195
    for e, (config, log) in enumerate(zip(configs, trainer.logs)):
        assert log.status in ("completed", "diverged"), config.case
        if log.status == "diverged":
            assert log.reason and log.failed_epoch in (0, 1), config.case
            continue
        assert log.failed_epoch is None and log.reason is None
        for key in ("d_loss", "g_loss", "d_min", "d_max"):
            assert len(log.epoch_logs[key]) == 2, (config.case, key)
            assert all(math.isfinite(v) for v in log.epoch_logs[key]), (config.case, key)
        assert log.snapshot_epochs == [0, 1]
        for snapshot in log.metrics:
            assert set(snapshot) == {"epoch", "modes", "hq_fraction", "reverse_kl", "w1"}, config.case
        assert [s.shape for s in log.samples] == [(500, 2)] * 2
        assert [d.shape for d in log.d_grid] == [(21, 21)] * 2
        assert trainer.nets["d"]["iterations"][e, 0].item() == 2 * n * config.n_critic
        assert trainer.nets["g"]["iterations"][e, 0].item() == 2 * n
        if config.clip is not None:
            assert trainer.nets["d"]["flat"][e].detach().abs().max() <= torch.tensor(config.clip)


# ----------------------------------------------------------------------------- (i) initialisation


def test_glorot_uniform_weights_and_zero_biases():
    configs = [small(seed=s, g_width=64, d_width=64, g_depth=3, d_depth=3) for s in (0, 1, 2)]
    trainer = StackTrainer(configs)
    for net, sizes in (("g", generator_sizes(configs[0])), ("d", discriminator_sizes(configs[0]))):
        params = trainer.layers(net)
        assert sizes == ([4, 64, 64, 64, 2] if net == "g" else [2, 64, 64, 64, 1])
        assert len(params) == 2 * (len(sizes) - 1)
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            w, b = params[2 * i].detach(), params[2 * i + 1].detach()
            assert w.shape == (3, fan_in, fan_out) and b.shape == (3, 1, fan_out)
            assert torch.count_nonzero(b) == 0
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            assert w.abs().max() <= limit
            if fan_in * fan_out >= 4096:
                # U(-L, L): the max of 4096 draws is within 0.1% of L with prob 1 - e^-4; the
                # variance L^2/3 is estimated to 1.4% (1 SE), tested at 7% (5 SE).
                for e in range(3):
                    assert w[e].abs().max() > 0.99 * limit
                    assert w[e].var().item() == pytest.approx(limit**2 / 3, rel=0.07)
                    assert abs(w[e].mean().item()) < 5 * limit / math.sqrt(3 * w[e].numel())
            assert not torch.equal(w[0], w[1])  # other seeds, other weights


def test_initial_weights_depend_only_on_the_run_seed():
    c = small(seed=7)
    alone = StackTrainer([c])
    stacked = StackTrainer([small(seed=1, loss="coulomb", clip=None), c])
    assert all(torch.equal(x, y) for x, y in zip(run_params(alone, 0), run_params(stacked, 1)))
    assert torch.equal(alone.data[0], stacked.data[1])
    # The plain loop's networks draw the same weights from the same generator, in the same order.
    init = run_generators(c.seed)["init"]
    g = build_mlp(generator_sizes(c), c.activation, init)
    d = build_mlp(discriminator_sizes(c), c.activation, init)
    plain = [p[0] for p in sequential_to_stacked(g) + sequential_to_stacked(d)]
    assert len(plain) == len(run_params(alone, 0))
    assert all(torch.equal(x, y) for x, y in zip(plain, run_params(alone, 0)))
    # init_stacked_mlp draws run by run from each run's generator.
    gens = [torch.Generator().manual_seed(s) for s in (0, 1)]
    both = init_stacked_mlp([2, 8, 1], gens)
    one = init_stacked_mlp([2, 8, 1], [torch.Generator().manual_seed(1)])
    assert all(torch.equal(x[1], y[0]) for x, y in zip(both, one))


def test_recorded_weights_are_the_critic_at_each_snapshot():
    configs = [small(seed=0, epochs=3, snapshot_epochs=(0, 2)), small(seed=1, epochs=3, snapshot_epochs=(0, 2),
                                                                       loss="standard", clip=None)]
    trainer = StackTrainer(configs, record_weights=True)
    trainer.train_epoch()
    after_first = trainer.nets["d"]["flat"].detach().clone()
    trainer.train()
    for e, log in enumerate(trainer.logs):
        assert log.snapshot_epochs == [0, 2] and len(log.d_weights) == 2
        assert np.array_equal(log.d_weights[0], after_first[e].numpy())
        assert np.array_equal(log.d_weights[1], trainer.nets["d"]["flat"][e].detach().numpy())
    assert StackTrainer(configs).logs[0].d_weights == []  # recorded only when asked
