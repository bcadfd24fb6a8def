"""Keras 2.1.2's Adam, exactly, for one network (`KerasAdam`) or a stack of runs (`keras_adam_step_`).

Keras and torch.optim.Adam differ in two ways that matter here (book chapter "Sources", Keras's Adam):
- Keras puts epsilon outside the bias correction: p -= lr_t * m / (sqrt(v) + eps) with
  lr_t = lr_k * sqrt(1 - beta_2^t) / (1 - beta_1^t). Written as torch writes it, with the
  corrected moments, that is p -= lr_k * m_hat / (sqrt(v_hat) + eps / sqrt(1 - beta_2^t)): Keras's
  epsilon acts 1 / sqrt(1 - beta_2^t) times larger than torch's, about 32x at the first update
  with beta_2 = 0.999, so tiny gradients move the weights far less at the start.
- Keras decays the learning rate per update: lr_k = lr / (1 + decay * k), k counted from 0 by
  each optimiser. D's optimiser counts n_critic updates per generator step.
Everything is computed in float32, as Keras's variables were on TensorFlow: the step size, and the
betas in the moments and in the bias correction alike (the same float32(0.999) in both, so the
first update has size lr exactly, as in Keras).
"""
import math

import torch


def keras_step_size(lr, beta_1, beta_2, decay, iterations):
    """lr_t of Keras Adam for update number `iterations` (0-based), in float32 arithmetic.

    Takes floats or tensors (broadcast together); returns a float32 tensor.
    """
    lr, beta_1, beta_2, decay, k = (torch.as_tensor(x, dtype=torch.float32) for x in
                                    (lr, beta_1, beta_2, decay, iterations))
    lr_k = lr / (1.0 + decay * k)
    t = k + 1.0
    return lr_k * torch.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)


def keras_adam_update_(param, grad, exp_avg, exp_avg_sq, step_size, beta_1, beta_2, epsilon):
    """One in-place Keras Adam update; the scalars may be tensors broadcastable to `param`.

    The betas are used in the parameter's precision, 1 - beta included, as Keras's float32
    variables were (1 - float32(0.999) is 0.00099998713, not 0.001).
    """
    beta_1 = torch.as_tensor(beta_1, dtype=param.dtype, device=param.device)
    beta_2 = torch.as_tensor(beta_2, dtype=param.dtype, device=param.device)
    exp_avg.mul_(beta_1).add_(grad * (1.0 - beta_1))
    exp_avg_sq.mul_(beta_2).add_(grad * grad * (1.0 - beta_2))
    param.sub_(step_size * exp_avg / (exp_avg_sq.sqrt() + epsilon))


class KerasAdam(torch.optim.Optimizer):
    """torch.optim.Optimizer with Keras 2.1.2 Adam semantics (epsilon outside, per-update decay).

    `state["iterations"]` of the first parameter group is Keras's `iterations` counter.
    """

    def __init__(self, params, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, decay=0.0):
        for name, value, ok in [
            ("lr", lr, 0 < lr < math.inf),
            ("beta_1", beta_1, 0 <= beta_1 < 1),
            ("beta_2", beta_2, 0 <= beta_2 < 1),
            ("epsilon", epsilon, 0 < epsilon < math.inf),
            ("decay", decay, 0 <= decay < math.inf),
        ]:
            if not ok:
                raise ValueError(f"KerasAdam: invalid {name}: {value!r}")
        defaults = dict(lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, decay=decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            group.setdefault("iterations", 0)
            k = group["iterations"]
            step_size = keras_step_size(group["lr"], group["beta_1"], group["beta_2"], group["decay"], k)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                keras_adam_update_(p, p.grad, state["exp_avg"], state["exp_avg_sq"], step_size,
                                   group["beta_1"], group["beta_2"], group["epsilon"])
            # Keras advances `iterations` once per update call, whatever the parameters.
            group["iterations"] = k + 1
        return loss
