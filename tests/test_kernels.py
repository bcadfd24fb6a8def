"""The compiled kernels (TensorFlow's ELU, the Plummer kernel) and the hand-written backward pass:
their torch forms give the same bits, the formulas are the ones named, gradients are autograd's."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from wgan_lib import get_case, kernels
from wgan_lib.models import (discriminator_sizes, generator_sizes, init_stacked_mlp, stacked_backward,
                             stacked_forward, stacked_forward_saving)

SPECIAL = [0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, -1e-3, -0.5, -1.0, -20.0, -87.0, -88.0, -100.0, -1e30,
           3.0, 1e30, float("inf"), float("-inf")]


def _values(seed, shape=(7, 1024, 64), scale=4.0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen) * scale
    x.view(-1)[:len(SPECIAL)] = torch.tensor(SPECIAL)
    return x


def test_the_kernels_are_compiled_on_this_machine():
    """CI's machine has g++ and ninja: the fast path must be the one that runs."""
    assert kernels.backend() == "compiled", f"the C++ kernels did not build: {kernels._reason}"


@pytest.mark.parametrize("seed", range(3))
def test_compiled_elu_equals_its_torch_form_bit_for_bit(seed):
    x = _values(seed)
    compiled = kernels.elu_(x.clone())
    assert torch.equal(compiled, kernels.elu_torch(x))
    nan = torch.tensor([float("nan"), 1.0])
    assert torch.isnan(kernels.elu_(nan.clone())[0]) and torch.isnan(kernels.elu_torch(nan)[0])


def test_elu_is_tensorflows_formula():
    """x for x > 0, exp(x) - 1 otherwise (TensorFlow's Elu, not expm1): within float32 rounding of
    that formula in float64, and -1 far below zero."""
    x = _values(3)
    got = kernels.elu_(x.clone()).double()
    x64 = x.double()
    tf = torch.where(x64 > 0, x64, torch.exp(x64.clamp(max=0)) - 1.0)
    finite = torch.isfinite(x64)
    assert torch.equal(got[x64 > 0], x64[x64 > 0])
    negative = finite & (x64 <= 0)
    # exp within 2 ulp of 1 (2.4e-7) before the subtraction of 1, which is exact for these values
    assert (got[negative] - tf[negative]).abs().max() < 2.4e-7
    assert got[x64 == float("-inf")].eq(-1.0).all() and got[x64 <= -88].eq(-1.0).all()
    # the difference from torch's expm1 ELU is this formula's: exp(-1e-8) - 1 rounds to 0
    assert kernels.elu_(torch.tensor([-1e-8]))[0] == 0.0
    assert torch.nn.functional.elu(torch.tensor([-1e-8]))[0] != 0.0


def test_elu_gradient_is_from_the_output_and_differentiable_twice():
    x = (_values(4, (3, 50, 8), 2.0)[..., :].clone()).clamp(-50, 50).requires_grad_()
    for elu in (kernels.keras_elu_, kernels._KerasELU.apply):
        y = elu(x * 1.0)
        (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        expected = torch.where(x > 0, torch.ones_like(x), y + 1.0)
        assert torch.equal(grad, expected)
        (second,) = torch.autograd.grad(grad.sum(), x)
        # torch's elu_backward differentiates the output's factor only where the output is < 0
        assert torch.equal(second, torch.where(y < 0, y.detach() + 1.0, torch.zeros_like(x)))


@pytest.mark.parametrize("seed", range(3))
def test_compiled_plummer_equals_its_torch_form_bit_for_bit(seed):
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.randn(3, 300, 2, generator=gen) * 3, torch.randn(3, 200, 2, generator=gen) * 3
    eps_sq = torch.tensor([1.0, 0.25, 4.0])
    assert torch.equal(kernels.plummer(a, b, eps_sq), kernels.plummer_torch(a, b, eps_sq))


def test_plummer_keeps_its_precision_for_nearby_points_far_from_the_origin():
    """From coordinate differences: no |a|^2 + |b|^2 - 2ab cancellation (which torch.cdist has)."""
    a = torch.tensor([[[1000.0, 1000.0]]])
    b = torch.tensor([[[1000.0, 1000.0 + 2.0**-10]]])
    exact = (2.0**-20 + 1e-6) ** -0.5
    got = kernels.plummer(a, b, torch.tensor([1e-6]))[0, 0, 0].item()
    assert got == pytest.approx(exact, rel=1e-6)


def test_without_a_compiler_the_torch_forms_run_with_one_warning(monkeypatch):
    import torch.utils.cpp_extension as cpp

    def no_compiler(*args, **kwargs):
        raise RuntimeError("Error building extension 'wgan_lib_kernels'\ng++: not found")

    monkeypatch.setattr(cpp, "load_inline", no_compiler)
    monkeypatch.setattr(kernels, "_module", None)
    monkeypatch.setattr(kernels, "_reason", None)
    with pytest.warns(RuntimeWarning, match="could not be built .*g\\+\\+: not found.*same numbers"):
        assert kernels.backend() == "torch"
    x = _values(5, (2, 10, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, not on every call
        assert torch.equal(kernels.elu_(x.clone()), kernels.elu_torch(x))


def _stack(loss, n_runs, seed=0):
    config = get_case("success").config(loss=loss)
    gens = [torch.Generator().manual_seed(seed + e) for e in range(n_runs)]
    return config, init_stacked_mlp(generator_sizes(config), gens), init_stacked_mlp(discriminator_sizes(config), gens)


@pytest.mark.parametrize("activation", ["elu", "relu"])
def test_stacked_backward_equals_autograd_bit_for_bit(activation):
    """D's weight gradient (critic update) and G's through a frozen D (generator update)."""
    _, g, d = _stack("wgan", 3)
    gen = torch.Generator().manual_seed(1)
    noise, real = torch.rand(3, 64, 4, generator=gen) * 2 - 1, torch.randn(3, 64, 2, generator=gen)
    weights = torch.randn(3, 128, 1, generator=gen)
    # critic update
    x = torch.cat([real, stacked_forward(g, noise, activation).detach()], 1)
    expected = torch.autograd.grad((stacked_forward(d, x, activation) * weights).sum(), d)
    out, inputs = stacked_forward_saving([p.detach() for p in d], x, activation)
    grads = [torch.empty_like(p) for p in d]
    assert stacked_backward([p.detach() for p in d], inputs, weights, activation, grads) is None
    assert torch.equal(out, stacked_forward(d, x, activation).detach())
    assert all(torch.equal(a, b) for a, b in zip(grads, expected))
    # generator update: through D (no weight gradients there) into G
    frozen = [p.detach() for p in d]
    w = weights[:, :64]
    expected = torch.autograd.grad((stacked_forward(frozen, stacked_forward(g, noise, activation), activation) * w).sum(), g)
    fake, g_inputs = stacked_forward_saving([p.detach() for p in g], noise, activation)
    _, d_inputs = stacked_forward_saving(frozen, fake, activation)
    grad_fake = stacked_backward(frozen, d_inputs, w, activation)
    grads = [torch.empty_like(p) for p in g]
    stacked_backward([p.detach() for p in g], g_inputs, grad_fake, activation, grads)
    assert all(torch.equal(a, b) for a, b in zip(grads, expected))


TRAIN_A_FEW_BATCHES = """
import sys, torch
from wgan_lib import CASES, kernels
from wgan_lib.train import StackTrainer
configs = [case.config() for name, case in CASES.items()]
trainer = StackTrainer(configs)
epoch = trainer.start_epoch()
for b in range(3):
    trainer.train_batch(epoch, b)
torch.save({net: trainer.nets[net]["flat"].detach() for net in "gd"}, sys.argv[1])
print(kernels.backend())
"""


def test_training_gives_the_same_bits_with_the_torch_forms(tmp_path):
    """Every case (Coulomb's potential, WGAN-GP's double backward included), three batches, in two
    processes: one with the compiled kernels, one with WGAN_LIB_KERNELS=torch."""
    out = {}
    for backend in ("compiled", "torch"):
        env = {**os.environ, "WGAN_LIB_KERNELS": backend, "OMP_NUM_THREADS": "1"}
        path = tmp_path / f"{backend}.pt"
        done = subprocess.run([sys.executable, "-c", TRAIN_A_FEW_BATCHES, str(path)], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == backend
        out[backend] = torch.load(path)
    for net in "gd":
        assert torch.equal(out["compiled"][net], out["torch"][net]), net
        assert np.isfinite(out["torch"][net].numpy()).all()
