"""Could a hand-written ELU make the CPU targets of the speed issue reachable?

ELU's forward and backward take about a third of a stacked iteration on one thread (torch.profiler:
elu_ 21 %, elu_backward 12 % for a shard of `reproduce --jobs 2`). This compiles a C++ ELU (a
loop that GCC vectorises with glibc's vector expm1, which needs -ffast-math) and times it against
torch's kernels on the shapes of a stack of eleven (and four) runs, on one thread: forward in
place (x > 0 ? x : expm1(x)) and backward from the output (grad * (out > 0 ? 1 : out + 1)).
It is a probe, not part of the package: it needs g++ and ninja, compiles for about 30 s, and
its forward differs from torch's in the last bit.

    python experiments/elu_kernel_probe.py
"""
import time

import torch
from torch.utils.cpp_extension import load_inline

torch.set_num_threads(1)
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
    for _ in range(10):
        step()
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n * 1e6


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
