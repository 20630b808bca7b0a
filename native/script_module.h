// TorchScript modules and PyTorch state-dict files: the doors between low-ts and PyTorch.
//  - a scripted or traced model saved in Python (torch.jit.save) loads here and trains like a
//    built-in model: its parameters are ordinary tensors, shared with the TypeScript side;
//  - a low-ts model goes out as TorchScript by tracing its forward pass (the TypeScript forward,
//    called back from here, runs at:: ops that the tracer records) into a module whose attributes
//    are the model's own parameters and buffers, under their dotted names;
//  - a state dict goes out in torch.save's zip format (torch::jit::pickle_save), for torch.load.
// Included once, by addon.cc: a second translation unit including libtorch's headers would add
// half a minute to every build.
#pragma once

#include <ATen/ATen.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/script.h>

#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace low::script {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

inline torch::jit::Module load(const std::string& path) { return torch::jit::load(path, c10::Device(c10::kCPU)); }

inline NamedTensors parameters(const torch::jit::Module& m) {
  NamedTensors out;
  for (const auto& p : m.named_parameters(true)) out.emplace_back(p.name, p.value);
  return out;
}

inline NamedTensors buffers(const torch::jit::Module& m) {
  NamedTensors out;
  for (const auto& b : m.named_buffers(true)) out.emplace_back(b.name, b.value);
  return out;
}

inline at::Tensor forward(torch::jit::Module& m, const at::Tensor& x) {
  c10::IValue out = m.forward({x});
  if (!out.isTensor()) throw std::runtime_error(std::string("forward returned a ") + out.tagKind() + ", expected one tensor");
  return out.toTensor();
}

/** The module holding attribute `dotted` ("features.0.weight" -> module features.0) and the attribute's own name. */
inline std::pair<torch::jit::Module, std::string> owner(const torch::jit::Module& root, const std::string& dotted) {
  torch::jit::Module m = root;
  size_t start = 0;
  for (size_t dot = dotted.find('.'); dot != std::string::npos; start = dot + 1, dot = dotted.find('.', start)) {
    const std::string part = dotted.substr(start, dot - start);
    if (!m.hasattr(part) || !m.attr(part).isModule()) throw std::runtime_error("the module has no submodule '" + part + "' (in '" + dotted + "')");
    m = m.attr(part).toModule();
  }
  return {m, dotted.substr(start)};
}

/**
 * forward(x) with the named parameters replaced by other tensors (torch.func.functional_call):
 * each attribute slot is pointed at its substitute for this call and restored after it, also
 * when forward throws.
 */
inline at::Tensor forwardWith(torch::jit::Module& m, const std::vector<std::string>& names, const std::vector<at::Tensor>& values,
                              const at::Tensor& x) {
  if (names.size() != values.size()) throw std::invalid_argument("names and tensors differ in number");
  struct Slot {
    torch::jit::Module module;
    std::string name;
    c10::IValue original;
  };
  std::vector<Slot> slots;
  struct Restore {
    std::vector<Slot>& slots;
    ~Restore() {
      for (auto& s : slots) s.module._ivalue()->setAttr(s.name, s.original);
    }
  } restore{slots};
  for (size_t i = 0; i < names.size(); i++) {
    auto [module, name] = owner(m, names[i]);
    if (!module.hasattr(name)) throw std::runtime_error("the module has no parameter '" + names[i] + "'");
    slots.push_back({module, name, module.attr(name)});
    module._ivalue()->setAttr(name, values[i]);
  }
  return forward(m, x);
}

inline std::vector<char> save(const torch::jit::Module& m) {
  std::ostringstream out;
  m.save(out);
  const std::string s = out.str();
  return {s.begin(), s.end()};
}

/**
 * A TorchScript module traced from `forward` on `example`: a module named `className` whose
 * submodules follow the dotted names, holding `tensors` as parameters (or, where `isBuffer`,
 * buffers), left in evaluation mode. The tracer records the at:: ops `forward` runs and turns
 * each use of one of these tensors into an attribute read, so the saved module reads its weights
 * from its own attributes (torch.jit.load(...).state_dict() has the same names).
 */
inline std::vector<char> trace(const std::string& className, const NamedTensors& tensors, const std::vector<bool>& isBuffer,
                               const at::Tensor& example, const std::function<at::Tensor(const at::Tensor&)>& forward) {
  // Each class needs a name of its own within one file: the root's name, then the module path.
  auto newModule = [&](const std::string& path) {
    std::string suffix;
    for (char c : path) suffix += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    return torch::jit::Module(c10::QualifiedName("__torch__.low_ts." + className + (path.empty() ? "" : "_" + suffix)));
  };
  torch::jit::Module root = newModule("");
  for (size_t i = 0; i < tensors.size(); i++) {
    const std::string& dotted = tensors[i].first;
    torch::jit::Module m = root;
    std::string path;
    size_t start = 0;
    for (size_t dot = dotted.find('.'); dot != std::string::npos; start = dot + 1, dot = dotted.find('.', start)) {
      const std::string part = dotted.substr(start, dot - start);
      path += (path.empty() ? "" : ".") + part;
      if (!m.hasattr(part)) m.register_module(part, newModule(path));
      m = m.attr(part).toModule();
    }
    m.register_parameter(dotted.substr(start), tensors[i].second, isBuffer[i]);
  }
  auto traced = [&](torch::jit::Stack inputs) -> torch::jit::Stack { return {forward(inputs.at(0).toTensor())}; };
  auto noNames = [](const torch::autograd::Variable&) { return std::string(); };
  auto [state, outputs] = torch::jit::tracer::trace({example}, traced, noNames, true, false, &root);
  auto fn = root._ivalue()->compilation_unit()->create_function(c10::QualifiedName(*root.type()->name(), "forward"), state->graph);
  root.type()->addMethod(fn);
  root.eval();
  return save(root);
}

/** A state dict in torch.save's format: a dict from name to tensor, in this order. */
inline std::vector<char> saveStateDict(const NamedTensors& tensors) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, t] : tensors) dict.insert(name, t.detach());
  return torch::jit::pickle_save(c10::IValue(dict));
}

}  // namespace low::script
