// The forward-mode AD level that dual tensors live at (PyTorch's torch.autograd.forward_ad). In
// libtorch 1.13 a process may hold one level at a time, and Workers share the process: the level
// is entered by its first user and exited when its last user releases it, so that two Workers
// taking forward-mode derivatives at once do not refuse each other. Included once, by addon.cc.
#pragma once

#include <ATen/ATen.h>
#include <torch/csrc/autograd/forward_grad.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace low {

struct SharedDualLevel {
  std::mutex mutex;
  int64_t users = 0;
  /** The level's index while someone holds it, else -1 (read without the mutex by hasTangent). */
  std::atomic<int64_t> level{-1};
};

inline SharedDualLevel& sharedDualLevel() {
  static SharedDualLevel shared;
  return shared;
}

inline int64_t acquireDualLevel() {
  auto& s = sharedDualLevel();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.users == 0) s.level = static_cast<int64_t>(torch::autograd::ForwardADLevel::get_next_idx());
  s.users++;
  return s.level;
}

inline void releaseDualLevel() {
  auto& s = sharedDualLevel();
  std::lock_guard<std::mutex> lock(s.mutex);
  TORCH_CHECK(s.users > 0, "releaseDualLevel: no forward-mode AD level is held");
  if (--s.users == 0) {
    torch::autograd::ForwardADLevel::release_idx(static_cast<uint64_t>(s.level.load()));
    s.level = -1;
  }
}

/** The open level at which x carries a tangent (forward-mode AD runs through it), else -1. */
inline int64_t tangentLevel(const at::Tensor& x) {
  const int64_t level = sharedDualLevel().level.load();
  return level >= 0 && x.defined() && x._fw_grad(static_cast<uint64_t>(level)).defined() ? level : -1;
}

}  // namespace low
