"""Two elementwise kernels that dominate a CPU iteration, each written twice with the same bits.

- `elu_` is TensorFlow's ELU formula, exp(x) - 1 for x < 0 (TF's Elu kernel; torch's elu uses
  expm1, which ATen evaluates one element at a time, about 8x a ReLU), with exp evaluated by the
  Cephes polynomial of Eigen's vectorised exp. It is that formula, not TensorFlow's bits: against
  TensorFlow 2.21's tf.nn.elu a few per cent of the values in [-1, 0) differ, mostly by one ulp and
  by more just below 0, where exp(x) - 1 cancels; torch's own elu differs from TensorFlow's about
  three times as often.
- `plummer_` is the Coulomb GAN's kernel (|a - b|^2 + eps^2)^(-1/2) for all pairs of 2-D points,
  from the coordinate differences (no |a|^2 + |b|^2 - 2ab cancellation).

Each exists as a C++ loop, compiled on first use with torch.utils.cpp_extension (g++ and ninja)
and vectorised by GCC, and as the same float32 operations in torch. Every operation is rounded
once in both (-ffp-contract=off keeps GCC from fusing a multiply and an add, and torch's
elementwise kernels round each operation), so the two give the same bits: a test checks it. The
compiled loop runs for contiguous float32 CPU tensors; the torch form everywhere else (a GPU, a
machine without a compiler, WGAN_LIB_KERNELS=torch). On a CPU the torch form takes two to three
times as long per batch as the compiled loops (`python -m wgan_lib bench` measures it), which is
what the C++ earns.
"""
import os
import warnings

import torch

# Cephes expf, as in Eigen's pexp: exp(x) = 2^n * p(r), n = floor(x log2(e) + 1/2),
# r = x - n ln 2 in two steps (C1 + C2 = ln 2 to beyond float precision).
EXP_LOWEST = -87.33654  # ln of the smallest normal float: 2^n stays a normal number
LOG2E = 1.44269504088896341
C1, C2 = 0.693359375, -2.12194440e-4
EXP_POLY = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)

_SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <cstdint>
#include <cstring>

static inline float cephes_exp(float x) {  // x in [EXP_LOWEST, 0]
  const float fx = floorf(x * LOG2E + 0.5f);
  float r = x - fx * C1;
  r = r - fx * C2;
  const float z = r * r;
  float y = P0;
  y = y * r + P1;
  y = y * r + P2;
  y = y * r + P3;
  y = y * r + P4;
  y = y * r + P5;
  y = y * z + r;
  y = y + 1.0f;
  const int32_t bits = ((int32_t)fx + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

static void check(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous(),
              name, ": a contiguous float32 CPU tensor is required");
}

torch::Tensor elu_forward_(torch::Tensor x) {
  check(x, "x");
  float* p = x.data_ptr<float>();
  at::parallel_for(0, x.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    #pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float v = p[i];
      float c = v < EXP_LOWEST ? EXP_LOWEST : v;
      c = c > 0.0f ? 0.0f : c;
      const float e = cephes_exp(c);
      p[i] = v > 0.0f ? v : e - 1.0f;
    }
  });
  return x;
}

// The ELU in place with its gradient from the output (TensorFlow's EluGrad; torch's elu_backward,
// itself differentiable, so WGAN-GP's gradient penalty can differentiate it again). In C++ because
// a Python autograd.Function costs ~30 us a call here, as much as the kernel on a small stack.
struct KerasElu : public torch::autograd::Function<KerasElu> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x) {
    ctx->mark_dirty({x});
    elu_forward_(x);
    ctx->save_for_backward({x});
    return x;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto out = ctx->get_saved_variables()[0];
    return {at::elu_backward(grads[0], 1.0, 1.0, 1.0, true, out)};
  }
};

torch::Tensor keras_elu_(torch::Tensor x) { return KerasElu::apply(x); }

torch::Tensor plummer_(torch::Tensor out, torch::Tensor a, torch::Tensor b, torch::Tensor eps_sq) {
  // out (E, n, m) = (|a_i - b_j|^2 + eps_sq[e])^(-1/2) for a (E, n, 2), b (E, m, 2), eps_sq (E,)
  check(out, "out"); check(a, "a"); check(b, "b"); check(eps_sq, "eps_sq");
  const int64_t E = a.size(0), n = a.size(1), m = b.size(1);
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  const float* pe = eps_sq.data_ptr<float>();
  float* po = out.data_ptr<float>();
  at::parallel_for(0, E * n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t e = row / n;
      const float ax = pa[2 * row], ay = pa[2 * row + 1], eps2 = pe[e];
      const float* bb = pb + 2 * e * m;
      float* o = po + row * m;
      #pragma omp simd
      for (int64_t j = 0; j < m; ++j) {
        const float dx = ax - bb[2 * j];
        const float dy = ay - bb[2 * j + 1];
        o[j] = 1.0f / sqrtf(dx * dx + dy * dy + eps2);
      }
    }
  });
  return out;
}
"""

_module = None
_reason = None


def _constants():
    """The constants as C definitions of the float32 values torch multiplies by (exactly those)."""
    names = dict(EXP_LOWEST=EXP_LOWEST, LOG2E=LOG2E, C1=C1, C2=C2)
    names.update({f"P{i}": c for i, c in enumerate(EXP_POLY)})
    as_float32 = {name: torch.tensor(value, dtype=torch.float32).item() for name, value in names.items()}
    return "".join(f"static const float {name} = {value!r};\n" for name, value in as_float32.items())


def compiled():
    """The compiled module, building it on first use; None (and a warning, once) when it cannot be built."""
    global _module, _reason
    if _module is not None or _reason is not None:
        return _module
    if os.environ.get("WGAN_LIB_KERNELS", "compiled") == "torch":
        _reason = "WGAN_LIB_KERNELS=torch"
        return None
    try:
        from torch.utils.cpp_extension import load_inline

        _module = load_inline("wgan_lib_kernels", cpp_sources=_constants() + _SOURCE,
                              functions=["elu_forward_", "keras_elu_", "plummer_"],
                              extra_cflags=["-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno",
                                            "-fno-trapping-math", "-fopenmp-simd"])
    except Exception as error:  # no compiler, no ninja, no headers: the torch form gives the same numbers
        _reason = f"{type(error).__name__}: {str(error).strip().splitlines()[-1] if str(error).strip() else ''}"
        warnings.warn(f"wgan_lib: the C++ kernels could not be built ({_reason}); using their torch form "
                      "(the same numbers, slower)", RuntimeWarning, stacklevel=2)
    return _module


def backend():
    """'compiled' when the C++ kernels run on contiguous float32 CPU tensors, else 'torch'."""
    return "compiled" if compiled() is not None else "torch"


def _use_compiled(*tensors):
    return (all(t.device.type == "cpu" and t.dtype == torch.float32 and t.is_contiguous() for t in tensors)
            and compiled() is not None)


def cephes_exp_torch(x):
    """exp(x) for float32 x in [EXP_LOWEST, 0], the kernel's operations one by one."""
    fx = torch.floor(x * LOG2E + 0.5)
    r = x - fx * C1
    r = r - fx * C2
    z = r * r
    y = torch.full_like(x, EXP_POLY[0])
    for coefficient in EXP_POLY[1:]:
        y = y * r + coefficient
    y = y * z + r
    y = y + 1.0
    scale = (fx.to(torch.int32) + 127).bitwise_left_shift(23).view(torch.float32)
    return y * scale


def elu_torch(x):
    """TensorFlow's ELU, x for x > 0 and exp(x) - 1 otherwise, in torch operations (a new tensor).
    In float32 with the kernel's exp; in another precision (an analysis in float64) with torch's."""
    if x.dtype == torch.float32:
        e = cephes_exp_torch(x.clamp(EXP_LOWEST, 0.0))
    else:
        e = torch.exp(x.clamp(max=0.0))
    return torch.where(x > 0, x, e - 1.0)


def elu_(x):
    """TensorFlow's ELU formula in place (no autograd; `keras_elu_` is the differentiable one)."""
    if _use_compiled(x):
        return compiled().elu_forward_(x)
    return x.copy_(elu_torch(x))


class _KerasELU(torch.autograd.Function):
    """The torch form of the compiled KerasElu (same forward, same gradient)."""

    @staticmethod
    def forward(ctx, x):
        ctx.mark_dirty(x)
        out = x.copy_(elu_torch(x))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return torch.ops.aten.elu_backward(grad, 1.0, 1.0, 1.0, True, out)


def keras_elu_(x):
    """TensorFlow's ELU in place on `x`, differentiable: the gradient comes from the output, as in
    TensorFlow's EluGrad and torch's in-place ELU (d elu/dx = elu(x) + 1 for x <= 0), computed by
    torch's elu_backward, itself differentiable (WGAN-GP's gradient penalty needs that). `x` must
    be free to overwrite: the fresh output of a layer's matrix product, whose backward pass needs
    the product's inputs, not its output."""
    if _use_compiled(x):
        return compiled().keras_elu_(x)
    return _KerasELU.apply(x)


def plummer_torch(a, b, eps_sq):
    """(|a_i - b_j|^2 + eps_sq)^(-1/2) for a (E, n, 2), b (E, m, 2), eps_sq (E,): shape (E, n, m)."""
    dx = a[:, :, None, 0] - b[:, None, :, 0]
    dy = a[:, :, None, 1] - b[:, None, :, 1]
    shifted = dx * dx + dy * dy + eps_sq.view(-1, 1, 1)
    # torch's float32 sqrt on a CPU may be 1 ulp off the correctly rounded one that the C loop
    # gets; a float64 root within 1 ulp rounds to the correctly rounded float32 root (a float's
    # root is never within 2^-50 of a float rounding midpoint), and division rounds exactly.
    root = shifted.double().sqrt().to(shifted.dtype)
    return torch.ones_like(root).div_(root)


def plummer(a, b, eps_sq):
    """`plummer_torch`, by the compiled loop where it can run."""
    eps_sq = eps_sq.to(a.device, a.dtype).reshape(-1).expand(a.shape[0]).contiguous()
    a, b = a.contiguous(), b.contiguous()
    if _use_compiled(a, b, eps_sq):
        out = torch.empty(a.shape[0], a.shape[1], b.shape[1])
        return compiled().plummer_(out, a, b, eps_sq)
    return plummer_torch(a, b, eps_sq)
