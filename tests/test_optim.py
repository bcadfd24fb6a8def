"""Tests of wgan_lib.optim: Keras 2.1.2 Adam (book chapter "Sources", Keras's Adam).

The reference below is written from the formulas of the book's chapter "Sources", in NumPy float64:
    update k (0-based): lr_k = lr / (1 + decay * k); t = k + 1;
    lr_t = lr_k * sqrt(1 - beta_2^t) / (1 - beta_1^t);
    m = beta_1 m + (1 - beta_1) g;  v = beta_2 v + (1 - beta_2) g^2;
    p -= lr_t * m / (sqrt(v) + epsilon).
Keras held beta_1 and beta_2 in float32 variables (K.variable), so the reference rounds them to
float32 once and then computes everything in float64 with those values, in the moments and in
the bias correction alike, as Keras's graph did.
"""
import io
import math

import numpy as np
import pytest
import torch

from wgan_lib.optim import KerasAdam, keras_step_size



def keras_adam_reference(params, grads_per_step, lr, beta_1, beta_2, epsilon, decay):
    """NumPy float64 Keras 2.1.2 Adam. params: list of arrays; grads_per_step: list of lists."""
    b1 = float(np.float32(beta_1))  # Keras: K.variable(beta_1), float32
    b2 = float(np.float32(beta_2))
    p = [np.asarray(x, dtype=np.float64).copy() for x in params]
    m = [np.zeros_like(x) for x in p]
    v = [np.zeros_like(x) for x in p]
    for k, grads in enumerate(grads_per_step):
        lr_k = lr / (1.0 + decay * k)
        t = k + 1
        lr_t = lr_k * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        for i, g in enumerate(grads):
            g = np.asarray(g, dtype=np.float64)
            m[i] = b1 * m[i] + (1.0 - b1) * g
            v[i] = b2 * v[i] + (1.0 - b2) * g * g
            p[i] = p[i] - lr_t * m[i] / (np.sqrt(v[i]) + epsilon)
    return p, m, v


def make_problem(seed, shapes=((3, 4), (5,)), n_steps=6, grad_scale=1.0):
    """Initial values and a different gradient per step and per tensor, all float32-representable."""
    gen = torch.Generator().manual_seed(seed)
    init = [torch.randn(s, generator=gen) for s in shapes]
    grads = [[torch.randn(s, generator=gen) * grad_scale for s in shapes] for _ in range(n_steps)]
    return init, grads


def run_keras_adam(init, grads, **hyper):
    params = [torch.nn.Parameter(x.clone()) for x in init]
    opt = KerasAdam(params, **hyper)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = g.clone()
        opt.step()
    return params, opt


HYPER_CASES = [
    # The post's settings (beta_1 0.5) with a large decay so that lr_k visibly changes over 6 steps
    # (lr_5 = lr / 1.25): ignoring or mis-indexing the decay moves p by ~1e-3, far above tolerance.
    dict(lr=1e-2, beta_1=0.5, beta_2=0.999, epsilon=1e-8, decay=0.05),
    # Keras's default betas, a smaller lr and decay.
    dict(lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8, decay=1e-3),
]


@pytest.mark.parametrize("hyper", HYPER_CASES)
def test_matches_numpy_keras_reference_over_several_steps(hyper):
    init, grads = make_problem(seed=1)
    params, opt = run_keras_adam(init, grads, **hyper)
    ref_p, ref_m, ref_v = keras_adam_reference([x.double().numpy() for x in init],
                                               [[g.double().numpy() for g in step] for step in grads], **hyper)
    # Tolerance: the parameters are O(1) (|p| < 4) and float32; each of the 6 steps rounds p once
    # (half an ulp, <= 2.4e-7 at |p| < 4) and computes the update (<= lr_t * ~2) to a relative
    # ~1e-6 (a handful of float32 operations), so the accumulated error is below 6 * 2.5e-7 = 1.5e-6.
    # Measured: 2.8e-7. A wrong lr_k, t or bias correction moves p by >= 1e-4.
    for p, r in zip(params, ref_p):
        np.testing.assert_allclose(p.detach().double().numpy(), r, rtol=0, atol=2e-6)
    # The moments are float32 sums of 6 terms of size |g| < 4 (|g|^2 < 16 for v): a few float32
    # roundings, relative 1e-6 of their scale (m: 4e-6 absolute; v = 1e-3 * g^2 terms: 1e-8 absolute).
    # Measured: 9e-8 (m), 6e-10 (v).
    for p, r_m, r_v in zip(params, ref_m, ref_v):
        state = opt.state[p]
        np.testing.assert_allclose(state["exp_avg"].double().numpy(), r_m, rtol=1e-6, atol=4e-6)
        np.testing.assert_allclose(state["exp_avg_sq"].double().numpy(), r_v, rtol=1e-6, atol=1e-8)
    assert opt.param_groups[0]["iterations"] == len(grads)


def test_hand_computed_scalar_two_updates():
    """Two updates of a scalar, worked out by hand.

    lr = 0.1, beta_1 = 0.5, beta_2 = 0.75 (both exact in float32), decay = 1, epsilon = 1e-8.
    Update k = 0, g = 2:
        lr_0 = 0.1 / (1 + 1 * 0) = 0.1;  t = 1;  lr_t = 0.1 * sqrt(1 - 0.75) / (1 - 0.5) = 0.1 * 0.5 / 0.5 = 0.1
        m = 0.5 * 0 + 0.5 * 2 = 1;  v = 0.75 * 0 + 0.25 * 4 = 1
        p = 1 - 0.1 * 1 / (1 + 1e-8) = 0.9 (+1e-9)
    Update k = 1, g = -4:
        lr_1 = 0.1 / (1 + 1 * 1) = 0.05;  t = 2;  lr_t = 0.05 * sqrt(1 - 0.5625) / (1 - 0.25)
             = 0.05 * (sqrt(7) / 4) / (3 / 4) = sqrt(7) / 60 = 0.04409585518440984
        m = 0.5 * 1 + 0.5 * (-4) = -1.5;  v = 0.75 * 1 + 0.25 * 16 = 4.75 = 19 / 4
        p = 0.9 - (sqrt(7) / 60) * (-1.5) / (sqrt(19) / 2) = 0.9 + sqrt(7 / 19) / 20
          = 0.9 + 0.030348848933344196 = 0.9303488489333442
    (epsilon changes p by ~1e-9, below float32 resolution at 0.9, which is 6e-8.)
    """
    p = torch.nn.Parameter(torch.tensor([1.0]))
    opt = KerasAdam([p], lr=0.1, beta_1=0.5, beta_2=0.75, epsilon=1e-8, decay=1.0)
    p.grad = torch.tensor([2.0])
    opt.step()
    # Tolerance: one float32 ulp at 0.9 is 6e-8; a few roundings stay below 2e-7.
    assert p.item() == pytest.approx(0.9, abs=2e-7)
    assert opt.state[p]["exp_avg"].item() == 1.0
    assert opt.state[p]["exp_avg_sq"].item() == 1.0
    p.grad = torch.tensor([-4.0])
    opt.step()
    assert p.item() == pytest.approx(0.9303488489333442, abs=2e-7)
    assert opt.state[p]["exp_avg"].item() == -1.5
    assert opt.state[p]["exp_avg_sq"].item() == 4.75
    assert opt.param_groups[0]["iterations"] == 2


def test_first_update_has_size_lr_like_keras():
    """In Keras the first update of a weight with |g| >> epsilon is lr * sign(g), up to epsilon:
    lr_t * m / sqrt(v) = lr * sqrt(1 - b2) / (1 - b1) * (1 - b1) |g| / (sqrt(1 - b2) |g|) = lr,
    because Keras used the same float32 beta_2 variable in the moment and in the bias correction.

    Post's settings: beta_1 = 0.5, beta_2 = 0.999 (float32(0.999) = 0.99900001287, so
    1 - beta_2 = 0.00099998713 in float32, exactly, by Sterbenz's lemma). Using 0.001 in the
    bias correction but 0.00099998713 in v makes the step sqrt(0.001 / 0.00099998713) - 1 = 6.4e-6
    too large. Tolerance 1e-6 relative: the float32 computation of one update is good to ~5e-7,
    and epsilon's share (1e-8 / sqrt(1e-3) = 3.2e-7 relative at |g| = 1) is included below.
    """
    lr, b1, b2, eps = 1e-3, 0.5, 0.999, 1e-8
    p = torch.nn.Parameter(torch.zeros(4))
    opt = KerasAdam([p], lr=lr, beta_1=b1, beta_2=b2, epsilon=eps, decay=0.0)
    g = torch.tensor([1.0, -1.0, 3.0, -0.5])
    p.grad = g.clone()
    opt.step()
    b2f = float(np.float32(b2))
    sqrt_v = math.sqrt(1.0 - b2f) * g.abs().double()
    expected = -lr * torch.sign(g).double() * sqrt_v / (sqrt_v + eps)  # = -lr * sign(g) * (1 - ~eps/sqrt(v))
    np.testing.assert_allclose(p.detach().double().numpy(), expected.numpy(), rtol=1e-6, atol=0)


def test_differs_from_torch_adam_where_epsilon_dominates():
    """Tiny gradients (1e-9, below epsilon = 1e-8): Keras's epsilon sits outside the bias
    correction, torch's inside (effectively eps / sqrt(1 - beta_2^t), 31.6x larger at t = 1).

    First step, lr = 1e-3, betas (0.9, 0.999), g = 1e-9:
      Keras: lr * sqrt(1e-3) / 0.1 * (0.1 * 1e-9) / (sqrt(1e-3) * 1e-9 + 1e-8) = 3.07e-6 (up to float32 betas)
      torch: lr / 0.1 * (0.1 * 1e-9) / (1e-9 + 1e-8) = 9.09e-5
    """
    hyper = dict(lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8, decay=0.0)
    init = [torch.zeros(3)]
    grads = [[torch.full((3,), 1e-9)] for _ in range(3)]
    keras_params, _ = run_keras_adam(init, grads, **hyper)
    ref_p, _, _ = keras_adam_reference([np.zeros(3)], [[g[0].double().numpy()] for g in grads], **hyper)
    # Relative 2e-5: float32 rounding (~1e-6) plus the library's float64 bias correction, which
    # differs from Keras's float32 one by 6.4e-6 relative (tested on its own above). Far below
    # the factor ~30 this test is about.
    np.testing.assert_allclose(keras_params[0].detach().double().numpy(), ref_p[0], rtol=2e-5)

    p_torch = torch.nn.Parameter(torch.zeros(3))
    torch_opt = torch.optim.Adam([p_torch], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    for step_grads in grads:
        p_torch.grad = step_grads[0].clone()
        torch_opt.step()
    # Hand number for the first step (see docstring), to pin the reference itself.
    one_step, _ = run_keras_adam(init, grads[:1], **hyper)
    assert one_step[0][0].item() == pytest.approx(
        -1e-3 * math.sqrt(1 - float(np.float32(0.999))) / (1 - float(np.float32(0.9)))
        * (1 - float(np.float32(0.9))) * 1e-9 / (math.sqrt(1 - float(np.float32(0.999))) * 1e-9 + 1e-8), rel=2e-5)
    ratio = p_torch[0].item() / keras_params[0][0].item()
    assert ratio > 5.0, f"torch.optim.Adam and KerasAdam should differ by a large factor here; ratio {ratio}"


def test_agrees_with_torch_adam_where_epsilon_is_negligible():
    """Control for the test above: with |g| ~ 1 and no decay the two differ only in epsilon's
    place, ~1e-8 relative. Betas 0.5 and 0.75 are exact in float32, so torch (which uses them as
    Python floats) and Keras (float32 variables) use the same values. Tolerance: float32 updates
    of different operation order, relative ~1e-6 of the update, on |p| <= 0.1 after 5 steps."""
    init, grads = make_problem(seed=3, shapes=((7,),), n_steps=5)
    keras_params, _ = run_keras_adam(init, grads, lr=1e-2, beta_1=0.5, beta_2=0.75, epsilon=1e-8, decay=0.0)
    p_torch = torch.nn.Parameter(init[0].clone())
    torch_opt = torch.optim.Adam([p_torch], lr=1e-2, betas=(0.5, 0.75), eps=1e-8)
    for step_grads in grads:
        p_torch.grad = step_grads[0].clone()
        torch_opt.step()
    torch.testing.assert_close(keras_params[0].detach(), p_torch.detach(), rtol=0, atol=1e-6)


def test_iterations_counter_counts_every_step():
    p = torch.nn.Parameter(torch.ones(2))
    q = torch.nn.Parameter(torch.ones(2))
    opt = KerasAdam([p, q], lr=1e-3, decay=1e-2)
    for i in range(1, 5):
        p.grad = torch.ones(2)
        q.grad = None if i == 2 else torch.ones(2)  # a parameter without a gradient is skipped...
        opt.step()
        assert opt.param_groups[0]["iterations"] == i  # ...but Keras's counter advances once per update


def test_state_dict_round_trip_continues_identically(tmp_path):
    hyper = dict(lr=1e-2, beta_1=0.5, beta_2=0.999, epsilon=1e-8, decay=0.1)
    init, grads = make_problem(seed=5, n_steps=6)
    params_a = [torch.nn.Parameter(x.clone()) for x in init]
    opt_a = KerasAdam(params_a, **hyper)

    def step(params, opt, step_grads):
        for p, g in zip(params, step_grads):
            p.grad = g.clone()
        opt.step()

    for step_grads in grads[:3]:
        step(params_a, opt_a, step_grads)
    buffer = io.BytesIO()
    torch.save({"opt": opt_a.state_dict(), "params": [p.detach().clone() for p in params_a]}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    params_b = [torch.nn.Parameter(x.clone()) for x in saved["params"]]
    # A fresh optimiser with other hyperparameters: load_state_dict must bring back everything.
    opt_b = KerasAdam(params_b, lr=0.5, decay=0.0)
    opt_b.load_state_dict(saved["opt"])
    assert opt_b.param_groups[0]["iterations"] == 3
    for step_grads in grads[3:]:
        step(params_a, opt_a, step_grads)
        step(params_b, opt_b, step_grads)
    for a, b in zip(params_a, params_b):
        assert torch.equal(a, b)  # same float32 operations on the same values: bit-identical
    assert opt_b.param_groups[0]["iterations"] == 6
    # And the loaded run equals one that never stopped, per the float64 reference.
    ref_p, _, _ = keras_adam_reference([x.double().numpy() for x in init],
                                       [[g.double().numpy() for g in s] for s in grads], **hyper)
    for b, r in zip(params_b, ref_p):
        np.testing.assert_allclose(b.detach().double().numpy(), r, rtol=0, atol=2e-6)


@pytest.mark.parametrize("name, value", [
    ("lr", 0.0), ("lr", -1e-3), ("lr", float("nan")),
    ("beta_1", 1.0), ("beta_1", -0.1), ("beta_1", float("nan")),
    ("beta_2", 1.0), ("beta_2", 1.5),
    ("epsilon", 0.0), ("epsilon", -1e-8),
    ("decay", -1e-5), ("decay", float("nan")),
])
def test_invalid_hyperparameters_raise(name, value):
    with pytest.raises(ValueError, match=name):
        KerasAdam([torch.nn.Parameter(torch.zeros(1))], **{name: value})


@pytest.mark.parametrize("name", ["lr", "decay"])
def test_infinite_hyperparameters_raise(name):
    """lr = inf or decay = inf are not learning rates (Config rejects both as non-finite); KerasAdam
    accepts them and its first step then turns the parameters into NaN (decay: lr / (1 + inf * 0))."""
    p = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match=name):
        opt = KerasAdam([p], **{name: float("inf")})
        p.grad = torch.ones(2)
        opt.step()
        raise AssertionError(f"accepted {name}=inf; parameters after one step: {p.detach().tolist()}")


def _f32_step_size(lr, b1, b2, decay, k):
    """Keras's lr_t in float32 arithmetic, as TensorFlow computed it from float32 variables."""
    f = np.float32
    lr_k = f(lr) / (f(1.0) + f(decay) * f(k))
    t = f(k) + f(1.0)
    return lr_k * np.sqrt(f(1.0) - f(b2) ** t) / (f(1.0) - f(b1) ** t)


def test_keras_step_size_on_floats():
    # Float32 arithmetic, as Keras's variables on TensorFlow: compare with numpy float32 (exact
    # same operations, so to one float32 ulp) and with the float64 formula (to float32 precision).
    # lr 1e-3, betas (0.9, 0.999), k = 0: 1e-3 * sqrt(0.001) / 0.1 = 3.1622776601683795e-4
    out = keras_step_size(1e-3, 0.9, 0.999, 0.0, 0)
    assert out.dtype == torch.float32
    assert float(out) == pytest.approx(float(_f32_step_size(1e-3, 0.9, 0.999, 0.0, 0)), rel=1.2e-7)
    assert float(out) == pytest.approx(3.1622776601683795e-4, rel=1e-5)
    # The hand case above, k = 1: sqrt(7) / 60
    assert float(keras_step_size(0.1, 0.5, 0.75, 1.0, 1)) == pytest.approx(math.sqrt(7) / 60, rel=1e-6)
    # Decay: k = 99, decay 1e-2 -> lr / 1.99; t = 100
    expected = 1e-4 / 1.99 * math.sqrt(1 - 0.999**100) / (1 - 0.5**100)
    assert float(keras_step_size(1e-4, 0.5, 0.999, 1e-2, 99)) == pytest.approx(expected, rel=1e-5)
    assert float(keras_step_size(1e-4, 0.5, 0.999, 1e-2, 99)) == pytest.approx(
        float(_f32_step_size(1e-4, 0.5, 0.999, 1e-2, 99)), rel=2.4e-7)


def test_keras_step_size_on_tensors_per_run():
    """The trainer passes (E, 1) float32 tensors: one lr, beta, decay and counter per run."""
    lr = torch.tensor([[1e-4], [1e-3], [1e-2]])
    b1 = torch.tensor([[0.5], [0.9], [0.5]])
    b2 = torch.tensor([[0.999], [0.999], [0.9]])
    decay = torch.tensor([[1e-5], [1e-4], [0.0]])
    k = torch.tensor([[0.0], [10.0], [1234.0]])
    out = keras_step_size(lr, b1, b2, decay, k)
    assert out.shape == (3, 1) and out.dtype == torch.float32
    for e in range(3):
        expected = keras_step_size(lr[e, 0].item(), b1[e, 0].item(), b2[e, 0].item(), decay[e, 0].item(),
                                   k[e, 0].item())
        assert out[e, 0].item() == float(expected)  # the same float32 arithmetic, element by element
