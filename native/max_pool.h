// Max pooling without padding, dilation or ceil mode (LeNet-5's 2x2 pools) on contiguous float32
// CPU tensors, where libtorch's generic kernel is slow: in 1.13 LeNet-5's two pools take 6.5 to
// 6.8 ms at batch 256 with one thread (4.9 ms the first), 27 % of a whole training step
// (torch.profiler). The loop below gives
// the same output and the same indices (the first maximum of each window in row-major order, a
// NaN wins), and the backward pass is libtorch's own max_pool2d_with_indices_backward on those
// indices, so training is bit for bit what at::max_pool2d gives. Included once, by addon.cc:
// a second translation unit including libtorch's headers would add half a minute to every build.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/jit/frontend/tracer.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

namespace low {

/** Whether {@link maxPool2d}'s own loop applies; otherwise it calls at::max_pool2d. */
inline bool ownMaxPoolApplies(const at::Tensor& x, const std::vector<int64_t>& k, const std::vector<int64_t>& stride,
                              const std::vector<int64_t>& pad, const std::vector<int64_t>& dil, bool ceil) {
  // The layout first: is_contiguous() throws on mkldnn and sparse tensors.
  return x.layout() == at::kStrided && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 4 && x.is_contiguous() &&
         k.size() == 2 && stride.size() == 2 && pad == std::vector<int64_t>{0, 0} && dil == std::vector<int64_t>{1, 1} && !ceil &&
         k[0] > 0 && k[1] > 0 && stride[0] > 0 && stride[1] > 0 && x.size(2) >= k[0] && x.size(3) >= k[1] && x.numel() > 0;
}

inline uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float floatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

#if defined(__SSE2__)
/**
 * The 2x2, stride 2 windows of output row r, four at a time (SSE2: every x86-64 processor); returns
 * how many outputs it wrote, the rest are the scalar loop's. Lanes hold outputs c..c+3: even and
 * odd input columns of the window's two rows are taken apart with shuffles, then the same rule as
 * the scalar loop is applied in order (top left, top right, bottom left, bottom right) with masks.
 */
inline int64_t maxPool2x2Simd(const float* plane, float* op, int64_t* ip, int64_t r, int64_t w, int64_t ow) {
  int64_t c = 0;
  for (; c + 4 <= ow; c += 4) {
    const float* top = plane + 2 * r * w + 2 * c;
    const float* bottom = top + w;
    const __m128 t0 = _mm_loadu_ps(top), t1 = _mm_loadu_ps(top + 4);
    const __m128 b0 = _mm_loadu_ps(bottom), b1 = _mm_loadu_ps(bottom + 4);
    __m128 best = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
    __m128i which = _mm_setzero_si128();  // 0 top left, 1 top right, 2 bottom left, 3 bottom right
    const auto consider = [&](__m128 v, int32_t code) {
      const __m128 take = _mm_or_ps(_mm_cmpgt_ps(v, best), _mm_cmpunord_ps(v, v));
      best = _mm_or_ps(_mm_and_ps(take, v), _mm_andnot_ps(take, best));
      const __m128i t = _mm_castps_si128(take);
      which = _mm_or_si128(_mm_and_si128(t, _mm_set1_epi32(code)), _mm_andnot_si128(t, which));
    };
    consider(_mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1)), 1);
    consider(_mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)), 2);
    consider(_mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)), 3);
    _mm_storeu_ps(op + r * ow + c, best);
    alignas(16) int32_t codes[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(codes), which);
    for (int64_t l = 0; l < 4; l++) ip[r * ow + c + l] = 2 * r * w + 2 * (c + l) + (codes[l] & 1) + (codes[l] >> 1) * w;
  }
  return c;
}
#endif

/**
 * Pools planes [begin, end) of `in` (each h x w) into `out` and `indices` (each oh x ow). Sizes
 * come in by value: as captured references they were reloaded after every store to `indices`
 * (an int64 store may alias them), which made the loop as slow as libtorch's.
 */
inline void maxPoolPlanes(const float* __restrict in, float* __restrict out, int64_t* __restrict indices, int64_t begin, int64_t end,
                          int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t sh, int64_t sw) {
  for (int64_t p = begin; p < end; p++) {
    const float* plane = in + p * h * w;
    float* op = out + p * oh * ow;
    int64_t* ip = indices + p * oh * ow;
    for (int64_t r = 0; r < oh; r++) {
      int64_t done = 0;
#if defined(__SSE2__)
      if (kh == 2 && kw == 2 && sh == 2 && sw == 2) done = maxPool2x2Simd(plane, op, ip, r, w, ow);
#endif
      for (int64_t c = done; c < ow; c++) {
        const int64_t first = r * sh * w + c * sw;
        // Starting from the window's first element is where libtorch is after its first
        // comparison (it starts from -inf at that index).
        float best = plane[first];
        int64_t at = first;
        // libtorch's rule, kept exactly: strictly greater replaces, and so does any NaN. Written
        // as selects without branches: a branch per comparison would be mispredicted half the
        // time on real activations.
        const auto consider = [&](int64_t k) {
          const float v = plane[k];
          // All ones when v takes the place. Selecting with masks keeps the compiler from turning
          // the choice back into branches (it does with ?: on floats).
          const int64_t take = -static_cast<int64_t>((v > best) | (v != v));
          const uint32_t keep = static_cast<uint32_t>(take);
          best = floatOf((bitsOf(v) & keep) | (bitsOf(best) & ~keep));
          at = (k & take) | (at & ~take);
        };
        // 2x2 unrolled: LeNet-5's pools send their last columns here (2 of 14, 1 of 5), and the
        // general loop made the first pool about 10 % slower (low bench pool: 0.80 against 0.71 ms).
        if (kh == 2 && kw == 2) {
          consider(first + 1);
          consider(first + w);
          consider(first + w + 1);
        } else {
          for (int64_t i = 0; i < kh; i++) {
            for (int64_t j = (i == 0 ? 1 : 0); j < kw; j++) consider(first + i * w + j);
          }
        }
        op[r * ow + c] = best;
        ip[r * ow + c] = at;
      }
    }
  }
}

/** Output and indices (into each H x W plane, as at::max_pool2d_with_indices gives them). */
inline std::pair<at::Tensor, at::Tensor> maxPool2dForward(const at::Tensor& x, int64_t kh, int64_t kw, int64_t sh, int64_t sw) {
  const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
  const int64_t oh = (h - kh) / sh + 1, ow = (w - kw) / sw + 1;
  at::Tensor out = at::empty({x.size(0), x.size(1), oh, ow}, x.options());
  at::Tensor indices = at::empty({x.size(0), x.size(1), oh, ow}, x.options().dtype(at::kLong));
  const float* in = x.data_ptr<float>();
  float* o = out.data_ptr<float>();
  int64_t* id = indices.data_ptr<int64_t>();
  at::parallel_for(0, planes, std::max<int64_t>(1, 32768 / (h * w)), [=](int64_t begin, int64_t end) {
    maxPoolPlanes(in, o, id, begin, end, h, w, oh, ow, kh, kw, sh, sw);
  });
  return {out, indices};
}

struct MaxPool2dFunction : public torch::autograd::Function<MaxPool2dFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, int64_t kh, int64_t kw, int64_t sh, int64_t sw) {
    auto [out, indices] = maxPool2dForward(x, kh, kw, sh, sw);
    ctx->save_for_backward({x, indices});
    ctx->saved_data["k"] = std::vector<int64_t>{kh, kw};
    ctx->saved_data["stride"] = std::vector<int64_t>{sh, sw};
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto k = ctx->saved_data["k"].toIntVector();
    const auto stride = ctx->saved_data["stride"].toIntVector();
    at::Tensor gx = at::max_pool2d_with_indices_backward(grads[0], saved[0], k, stride, {0, 0}, {1, 1}, false, saved[1]);
    return {gx, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

/**
 * at::max_pool2d, through the loop above where it applies. `tangentLevel` is the forward-mode AD
 * level at which x carries a tangent, or -1: a custom autograd Function has no forward-mode
 * derivative in libtorch 1.13, so with a tangent the pool is taken on the primal here and the
 * tangent follows the same indices (the derivative of a max along a direction is the direction's
 * value at the argmax); with gradient recording on as well, libtorch's own op does both.
 */
inline at::Tensor maxPool2d(const at::Tensor& x, const std::vector<int64_t>& k, const std::vector<int64_t>& stride,
                            const std::vector<int64_t>& pad, const std::vector<int64_t>& dil, bool ceil, int64_t tangentLevel) {
  if (tangentLevel >= 0) {
    if (at::GradMode::is_enabled() && x.requires_grad()) return at::max_pool2d(x, k, stride, pad, dil, ceil);
    auto [primal, tangent] = at::_unpack_dual(x, tangentLevel);
    if (!ownMaxPoolApplies(primal, k, stride, pad, dil, ceil)) return at::max_pool2d(x, k, stride, pad, dil, ceil);
    auto [out, indices] = maxPool2dForward(primal, k[0], k[1], stride[0], stride[1]);
    at::Tensor tangentOut = tangent.flatten(2).gather(2, indices.flatten(2)).view_as(out);
    return at::_make_dual(out, tangentOut, tangentLevel);
  }
  // While tracing (a TorchScript export), libtorch's op: the tracer records ops, not this loop.
  if (!ownMaxPoolApplies(x, k, stride, pad, dil, ceil) || torch::jit::tracer::isTracing()) return at::max_pool2d(x, k, stride, pad, dil, ceil);
  return MaxPool2dFunction::apply(x, k[0], k[1], stride[0], stride[1]);
}

}  // namespace low
