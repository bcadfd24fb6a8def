"""Could a hand-written ELU make the CPU targets of the speed issue reachable?

First, torch.profiler gives ELU's share of each shard's stack of `reproduce --jobs 2` for the
eleven runs of the post's comparison (20 batches, one thread). Then this compiles a C++ ELU (a
loop that GCC vectorises with glibc's vector expm1, which needs -ffast-math) and times it against
torch's kernels on the shapes of a stack of eleven (and four) runs, on one thread: forward in
place (x > 0 ? x : expm1(x)) and backward from the output (grad * (out > 0 ? 1 : out + 1)).
Last, the share of each shard's time the own kernels would save, at the (11, 1024, 64) speed-ups.
It is a probe, not part of the package: it needs g++ and ninja, compiles for about 30 s, and
its forward differs from torch's in the last bit.

    python experiments/elu_kernel_probe.py
"""
import time

import torch
from torch.profiler import profile
from torch.utils.cpp_extension import load_inline

from wgan_lib import CASES
from wgan_lib.bench import _seconds_per_call
from wgan_lib.runner import shard_configs
from wgan_lib.train import StackTrainer

torch.set_num_threads(1)


def elu_shares(configs):
    """Fractions of self CPU time in torch's ELU forward and backward over 20 batches of a stack."""
    trainer = StackTrainer(configs)
    trainer.begin_epoch()
    for b in range(5):
        trainer.train_batch(b)
    with profile() as prof:
        for b in range(5, 25):
            trainer.train_batch(b)
    self_time = {event.key: event.self_cpu_time_total for event in prof.key_averages()}
    total = sum(self_time.values())
    return self_time.get("aten::elu_", 0) / total, self_time.get("aten::elu_backward", 0) / total


eleven = [case.config() for name, case in CASES.items() if name != "wgan-gp"]
shards = [shard_configs(eleven, (k, 2)) for k in range(2)]
shares = [elu_shares(shard) for shard in shards]
for shard, (forward, backward) in zip(shards, shares):
    print(f"shard of {len(shard)} runs ({', '.join(c.case for c in shard)}): ELU forward {forward:.1%}, "
          f"backward {backward:.1%} of self CPU time")
SOURCE = r"""
#include <torch/extension.h>
#include <cmath>
torch::Tensor elu_forward_(torch::Tensor x) {
  float* p = x.data_ptr<float>();
  const int64_t n = x.numel();
  #pragma omp simd
  for (int64_t i = 0; i < n; ++i) { const float v = p[i]; p[i] = v > 0.f ? v : expm1f(v); }
  return x;
}
torch::Tensor elu_backward(torch::Tensor grad, torch::Tensor out) {
  auto result = torch::empty_like(grad);
  const float* g = grad.data_ptr<float>();
  const float* o = out.data_ptr<float>();
  float* r = result.data_ptr<float>();
  const int64_t n = grad.numel();
  #pragma omp simd
  for (int64_t i = 0; i < n; ++i) { const float v = o[i]; r[i] = v > 0.f ? g[i] : g[i] * (v + 1.f); }
  return result;
}
"""
start = time.perf_counter()
ext = load_inline("wgan_elu_probe", cpp_sources=SOURCE, functions=["elu_forward_", "elu_backward"],
                  extra_cflags=["-O3", "-march=native", "-fopenmp-simd", "-ffast-math"])
print(f"compiled in {time.perf_counter() - start:.0f} s; one thread")


def microseconds(step, n=300):
    return _seconds_per_call(lambda _: step(), n, 10, "cpu") * 1e6


speedups = {}
for shape in [(11, 1024, 64), (11, 512, 64), (4, 1024, 64)]:
    x, grad = torch.randn(*shape), torch.randn(*shape)
    buffer = x.clone()
    copy = microseconds(lambda: buffer.copy_(x))  # both forwards work in place on a fresh copy
    torch_forward = microseconds(lambda: torch.nn.functional.elu_(buffer.copy_(x))) - copy
    own_forward = microseconds(lambda: ext.elu_forward_(buffer.copy_(x))) - copy
    out = torch.nn.functional.elu(x)
    ulps = ((ext.elu_forward_(x.clone()) - out).abs() / torch.finfo(torch.float32).eps
            / out.abs().clamp(min=torch.finfo(torch.float32).tiny)).max().item()
    torch_backward = microseconds(lambda: torch.ops.aten.elu_backward(grad, 1.0, 1.0, 1.0, True, out))
    own_backward = microseconds(lambda: ext.elu_backward(grad, out))
    same = torch.equal(torch.ops.aten.elu_backward(grad, 1.0, 1.0, 1.0, True, out), ext.elu_backward(grad, out))
    print(f"{str(shape):<16} forward: torch {torch_forward:6.0f} us, own {own_forward:6.0f} us "
          f"({torch_forward / own_forward:.2f}x, at most {ulps:.1f} eps relative); backward: torch "
          f"{torch_backward:6.0f} us, own {own_backward:6.0f} us ({torch_backward / own_backward:.2f}x, "
          f"{'bit for bit equal' if same else 'different'})")
    speedups[shape] = (torch_forward / own_forward, torch_backward / own_backward)

forward_speedup, backward_speedup = speedups[(11, 1024, 64)]
for shard, (forward, backward) in zip(shards, shares):
    saved = forward * (1 - 1 / forward_speedup) + backward * (1 - 1 / backward_speedup)
    print(f"shard of {len(shard)} runs: the own ELU would save about {saved:.1%} of its time")
