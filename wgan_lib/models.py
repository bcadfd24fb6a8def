"""Generator and discriminator MLPs, as a stack of independent runs or as one plain nn.Module.

A stacked MLP is a list [W_0, b_0, W_1, b_1, ...] with W_i of shape (E, fan_in, fan_out) and
b_i of shape (E, 1, fan_out): run e's network is the slice [e] of every tensor, and one batched
matrix product evaluates all E networks at once. Both forms are initialised as Keras's Dense
layers were: Glorot-uniform weights, zero biases. Each run draws its weights from its own
generator, in the same order for both forms, so a run starts from the same weights whatever
stack it is in. The hidden layers use TensorFlow's ELU (`kernels.keras_elu_`), as the post did.
`stacked_forward_saving` and `stacked_backward` evaluate and differentiate a stack by hand, the
same products as autograd's and bit for bit its result, for the trainer's updates.
"""
import math

import torch
from torch import nn

from . import kernels


def layer_sizes(n_in, width, depth, n_out):
    return [n_in] + [width] * depth + [n_out]


def generator_sizes(config):
    return layer_sizes(config.noise_dim, config.g_width, config.g_depth, 2)


def discriminator_sizes(config):
    return layer_sizes(2, config.d_width, config.d_depth, 1)


def glorot_uniform(fan_in, fan_out, generator):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(fan_in, fan_out, generator=generator) * 2.0 - 1.0) * limit


def init_stacked_mlp(sizes, generators):
    """Stacked parameters for one MLP per generator (leaf tensors that require grad)."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(torch.stack([glorot_uniform(fan_in, fan_out, g) for g in generators]))
        params.append(torch.zeros(len(generators), 1, fan_out))
    return [p.requires_grad_() for p in params]


class ELU(nn.Module):
    """TensorFlow's ELU (`kernels.keras_elu_`) as a layer, for the plain one-run networks."""

    def forward(self, x):
        return kernels.keras_elu_(x.clone())


# In place, on the fresh output of the layer's matrix product (see `kernels.keras_elu_`).
ACTIVATION_FUNCTIONS = {"elu": kernels.keras_elu_, "relu": torch.relu_}


def stacked_forward(params, x, activation="elu"):
    """Evaluate every run's MLP: x has shape (E, n, fan_in), the result (E, n, fan_out)."""
    act = ACTIVATION_FUNCTIONS[activation]
    n_layers = len(params) // 2
    for i in range(n_layers):
        x = torch.baddbmm(params[2 * i + 1], x, params[2 * i])
        if i < n_layers - 1:
            x = act(x)
    return x


# The same networks without autograd: the trainer's updates differentiate by hand, with fewer
# small operations than autograd's graph, whose per-operation cost on a CPU core is a sizeable
# share of a small stack's update.
ACTIVATIONS_NO_GRAD = {"elu": kernels.elu_, "relu": torch.relu_}
ACTIVATION_BACKWARD = {  # gradient at the input from the gradient and the output
    "elu": lambda grad, out: torch.ops.aten.elu_backward(grad, 1.0, 1.0, 1.0, True, out),
    "relu": lambda grad, out: torch.ops.aten.threshold_backward(grad, out, 0.0),
}


def stacked_forward_saving(params, x, activation="elu"):
    """`stacked_forward` without autograd, returning also every layer's input for `stacked_backward`."""
    act = ACTIVATIONS_NO_GRAD[activation]
    n_layers = len(params) // 2
    inputs = []
    with torch.no_grad():
        for i in range(n_layers):
            inputs.append(x)
            x = torch.baddbmm(params[2 * i + 1], x, params[2 * i])
            if i < n_layers - 1:
                x = act(x)
    return x, inputs


def stacked_backward(params, inputs, grad, activation="elu", param_grads=None):
    """Backpropagate `grad` (d loss / d output, shape (E, n, fan_out)) through the MLP that
    `stacked_forward_saving` evaluated. Writes d loss / d W_i and d loss / d b_i into the tensors
    of `param_grads` (when given) and returns d loss / d x (None when not needed: no param_grads
    means the input's gradient is what is asked). The same products in the same order as autograd's."""
    backward = ACTIVATION_BACKWARD[activation]
    n_layers = len(params) // 2
    with torch.no_grad():
        for i in reversed(range(n_layers)):
            if param_grads is not None:
                param_grads[2 * i].copy_(torch.bmm(inputs[i].transpose(1, 2), grad))
                param_grads[2 * i + 1].copy_(grad.sum(1, keepdim=True))
                if i == 0:
                    return None
            grad = torch.bmm(grad, params[2 * i].transpose(1, 2))
            if i > 0:
                grad = backward(grad, inputs[i])
    return grad


def build_mlp(sizes, activation, generator):
    """The same network as one run of `init_stacked_mlp`, as a plain nn.Sequential."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.copy_(glorot_uniform(fan_in, fan_out, generator).T)
            linear.bias.zero_()
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(ELU() if activation == "elu" else nn.ReLU())
    return nn.Sequential(*layers)


def sequential_to_stacked(module):
    """The parameters of an nn.Sequential from `build_mlp` in stacked form (E = 1), detached."""
    params = []
    for layer in module:
        if isinstance(layer, nn.Linear):
            params += [layer.weight.detach().T[None].clone(), layer.bias.detach()[None, None].clone()]
    return params
