// The process group of data-parallel training: c10d's ProcessGroupGloo (the CPU backend PyTorch's
// DDP and torchrun use) over a TCPStore rendezvous. One group per process, as torch.distributed's
// default group. Every collective is waited for with the group's timeout, so a rank that died or
// hangs makes the others fail with an error within it instead of hanging; the error names the
// operation and this rank. Compiled only where the Gloo headers are present (Debian's libgloo-dev:
// libtorch's c10d headers include them); otherwise every function says how to get them.
// In libtorch 1.13 ProcessGroupGloo derives from ProcessGroup, in 2.x from Backend; the
// constructor and the collectives used here are the same in both. Included once, by addon.cc.
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef USE_C10D_GLOO
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace low::dist {

#ifdef USE_C10D_GLOO

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::chrono::milliseconds timeout;
  int64_t rank;
  int64_t size;
};

inline std::mutex& groupMutex() {
  static std::mutex m;
  return m;
}
inline std::shared_ptr<Group>& groupSlot() {
  static std::shared_ptr<Group> g;
  return g;
}

inline std::shared_ptr<Group> current(const char* what) {
  std::lock_guard<std::mutex> lock(groupMutex());
  auto g = groupSlot();
  if (!g) throw std::runtime_error(std::string(what) + ": no process group (initialise one first)");
  return g;
}

/**
 * Joins the group: connects to the store at host:port (hosting it when hostStore), then every
 * rank to every other. `prefix` namespaces the store's keys (torchrun's agent store is shared by
 * restarts: /worker/attempt_<n>); `iface`, when not empty, is the network interface Gloo uses
 * (GLOO_SOCKET_IFNAME), else the address the host name resolves to, or 127.0.0.1 for a loopback host.
 */
inline void init(const std::string& host, int64_t port, int64_t rank, int64_t size, bool hostStore, int64_t timeoutMs,
                 const std::string& prefix, const std::string& iface) {
  std::lock_guard<std::mutex> lock(groupMutex());
  if (groupSlot()) throw std::runtime_error("initProcessGroup: this process already belongs to a process group");
  const std::chrono::milliseconds timeout(timeoutMs);
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(port);
  so.isServer = hostStore;
  so.numWorkers = static_cast<std::size_t>(size);
  so.waitWorkers = false;
  so.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(host, so);
  if (!prefix.empty()) store = c10::make_intrusive<c10d::PrefixStore>(prefix, store);
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  const bool loopback = host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
  options->devices.push_back(!iface.empty() ? c10d::ProcessGroupGloo::createDeviceForInterface(iface)
                             : loopback     ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                            : c10d::ProcessGroupGloo::createDefaultDevice());
  auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(rank), static_cast<int>(size), options);
  groupSlot() = std::make_shared<Group>(Group{store, pg, timeout, rank, size});
}

inline void destroy() {
  std::shared_ptr<Group> g;
  {
    std::lock_guard<std::mutex> lock(groupMutex());
    g.swap(groupSlot());
  }
}

inline void wait(const std::shared_ptr<Group>& g, const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  const auto fail = [&](const char* why) {
    return std::runtime_error(std::string(what) + " failed on rank " + std::to_string(g->rank) + " of " + std::to_string(g->size) +
                              " (timeout " + std::to_string(g->timeout.count()) + " ms; a rank that died or hangs causes this): " + why);
  };
  try {
    work->wait(g->timeout);
  } catch (const c10::Error& e) {
    throw fail(e.what_without_backtrace());  // the backtrace of libtorch's wait() says nothing about the peer
  } catch (const std::exception& e) {
    throw fail(e.what());
  }
}

inline void checkDense(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.defined() && t.layout() == at::kStrided && t.is_contiguous(), what, ": expected a dense contiguous tensor");
}

inline void broadcast(std::vector<at::Tensor> tensors, int64_t root) {
  auto g = current("broadcast");
  TORCH_CHECK(root >= 0 && root < g->size, "broadcast: root ", root, " is not a rank of the group of ", g->size);
  for (auto& t : tensors) checkDense(t, "broadcast");
  if (tensors.empty()) return;
  c10d::BroadcastOptions o;
  o.rootRank = root;
  o.timeout = g->timeout;
  // One tensor per call: Gloo's broadcast takes one tensor per device.
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    wait(g, g->pg->broadcast(one, o), "broadcast");
  }
}

inline void allReduceSum(at::Tensor t) {
  auto g = current("allReduce");
  checkDense(t, "allReduce");
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::SUM;
  o.timeout = g->timeout;
  std::vector<at::Tensor> one{t};
  wait(g, g->pg->allreduce(one, o), "all-reduce");
}

/**
 * The sum over the ranks as an autograd op: its backward sums the gradient over the ranks too
 * (each rank's loss depends on every rank's input). Synchronised batch norm's statistics use it.
 */
struct AllReduceSumFunction : public torch::autograd::Function<AllReduceSumFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext*, const at::Tensor& x) {
    at::Tensor y = x.detach().clone().contiguous();
    allReduceSum(y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*, torch::autograd::variable_list grads) {
    at::Tensor g = grads[0].clone().contiguous();
    allReduceSum(g);
    return {g};
  }
};

inline at::Tensor allReduceSumDifferentiable(const at::Tensor& x) { return AllReduceSumFunction::apply(x); }

inline std::vector<at::Tensor> allGather(const at::Tensor& t) {
  auto g = current("allGather");
  checkDense(t, "allGather");
  std::vector<std::vector<at::Tensor>> out(1);
  for (int64_t r = 0; r < g->size; r++) out[0].push_back(at::empty_like(t));
  std::vector<at::Tensor> in{t};
  c10d::AllgatherOptions o;
  o.timeout = g->timeout;
  wait(g, g->pg->allgather(out, in, o), "all-gather");
  return out[0];
}

inline void barrier() {
  auto g = current("barrier");
  c10d::BarrierOptions o;
  o.timeout = g->timeout;
  wait(g, g->pg->barrier(o), "barrier");
}

inline std::vector<int64_t> rankAndSize() {
  std::lock_guard<std::mutex> lock(groupMutex());
  auto g = groupSlot();
  return g ? std::vector<int64_t>{g->rank, g->size} : std::vector<int64_t>{};
}

inline bool available() { return true; }

#else

[[noreturn]] inline void unavailable() {
  throw std::runtime_error(
      "distributed training: the native addon was built without c10d's Gloo backend "
      "(install Debian's libgloo-dev, or use a libtorch folder that has the Gloo headers, and rebuild: node native/build.mjs)");
}
inline void init(const std::string&, int64_t, int64_t, int64_t, bool, int64_t, const std::string&, const std::string&) { unavailable(); }
inline void destroy() {}
inline void broadcast(std::vector<at::Tensor>, int64_t) { unavailable(); }
inline void allReduceSum(at::Tensor) { unavailable(); }
inline at::Tensor allReduceSumDifferentiable(const at::Tensor&) { unavailable(); }
inline std::vector<at::Tensor> allGather(const at::Tensor&) { unavailable(); }
inline void barrier() { unavailable(); }
inline std::vector<int64_t> rankAndSize() { return {}; }
inline bool available() { return false; }

#endif

}  // namespace low::dist
