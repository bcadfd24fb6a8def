"""Does torch.compile speed up the stacked networks on this CPU? The critic update's matrix
products and ELUs (forward and backward, stack of eleven success-case networks), eager with the
library's in-place ELU, eager out of place, and compiled (inductor) out of place.

    python experiments/compile_probe.py
"""
import time

import torch

from wgan_lib import get_case
from wgan_lib.bench import _seconds_per_call
from wgan_lib.models import discriminator_sizes, generator_sizes, init_stacked_mlp, stacked_forward

config = get_case("success").config()
E = 11
gen = torch.Generator().manual_seed(0)
g = [p.detach().requires_grad_() for p in init_stacked_mlp(generator_sizes(config), [gen] * E)]
d = [p.detach().requires_grad_() for p in init_stacked_mlp(discriminator_sizes(config), [gen] * E)]
noise, real = torch.rand(E, config.batch_size, config.noise_dim), torch.rand(E, config.batch_size, 2)


def forward_out_of_place(params, x):
    n_layers = len(params) // 2
    for i in range(n_layers):
        x = torch.baddbmm(params[2 * i + 1], x, params[2 * i])
        if i < n_layers - 1:
            x = torch.nn.functional.elu(x)
    return x


def critic_update(forward):
    with torch.no_grad():
        fake = forward(g, noise)
    return torch.autograd.grad(forward(d, torch.cat([real, fake], 1)).sum(), d)


def ms_per_run(forward, iterations=60):
    return _seconds_per_call(lambda _: critic_update(forward), iterations, 5, "cpu") / E * 1e3


print(f"{torch.get_num_threads()} threads")
print(f"eager, in-place ELU (the library's)  {ms_per_run(lambda p, x: stacked_forward(p, x, 'elu')):.3f} ms/run")
print(f"eager, out-of-place ELU              {ms_per_run(forward_out_of_place):.3f} ms/run")
try:
    compiled = torch.compile(forward_out_of_place, dynamic=False)
    start = time.perf_counter()
    critic_update(compiled)
    print(f"compiled in {time.perf_counter() - start:.1f} s")
    print(f"compiled (inductor), out-of-place ELU {ms_per_run(compiled):.3f} ms/run")
except Exception as error:  # no C++ compiler, or inductor cannot handle the graph
    print(f"torch.compile failed: {type(error).__name__}: {str(error).splitlines()[0]}")
