// low-ts native addon: a flat, exception-safe surface over libtorch.
//
// Every exported function is declared once, in the list at the bottom, as a plain C++ lambda over
// libtorch types. `def` adapts it to JavaScript: it converts and checks each argument, runs the
// call inside one guard that turns any C++ error into a JavaScript exception, and converts the
// result. Tensors cross the boundary as type-tagged N-API externals, so a foreign object can
// never be mistaken for a tensor; the TypeScript layer (src/torch/) wraps them in classes.
//
// Keep to the stable API (at:: ops, torch::autograd) so this builds against Debian's libtorch 1.13
// and the official 2.x releases alike.

#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/version.h>

#include "distributed.h"
#include "forward_ad.h"
#include "max_pool.h"
#include "script_module.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using at::Tensor;
using Vec = std::vector<int64_t>;
using OptTensor = c10::optional<Tensor>;

// ---------------------------------------------------------------------------------------------
// Tensor handles

const napi_type_tag kTensorTag = {0x6c6f772d74732d74ULL, 0x656e736f72000001ULL};

struct Handle {
  Tensor tensor;
  int64_t bytes = 0;     // counted in g_liveBytes
  int64_t reported = 0;  // what we told V8 about (reportMemory), so release can take back exactly that
  bool disposed = false;
};

// Atomic: every Worker thread that loads the addon shares these counters.
std::atomic<int64_t> g_liveHandles{0};
std::atomic<int64_t> g_liveBytes{0};
std::atomic<int64_t> g_reportedBytes{0};  // of those, what V8 was told of (reportMemory)

// Tells V8 what a tensor costs, so its collector sees what a forgotten tensor holds. Only for
// tensors that no tidy scope will free (reportMemory): a training step makes and frees gigabytes
// of scoped tensors, and telling V8 of each made it run a full collection every few tens of
// milliseconds, its marking threads taking the cores from libtorch's. The C call,
// not Napi::MemoryManagement: this runs in finalizers while a Worker's environment is torn down,
// where a C++ exception could only end the process, and a failed adjustment is harmless.
void reportExternalMemory(napi_env env, int64_t bytes) {
  int64_t total;
  napi_adjust_external_memory(env, bytes, &total);
}

int64_t tensorBytes(const Tensor& t) {
  return t.defined() ? static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size()) : 0;
}

void release(Napi::Env env, Handle* h) {
  if (h->disposed) return;
  h->disposed = true;
  h->tensor = Tensor();
  g_liveHandles -= 1;
  g_liveBytes -= h->bytes;
  if (h->reported) reportExternalMemory(env, -h->reported);
  g_reportedBytes -= h->reported;
  h->bytes = 0;
  h->reported = 0;
}

Napi::Value wrap(Napi::Env env, Tensor t) {
  // Owned here until the external exists: creating it fails in an environment that is shutting down.
  auto owned = std::make_unique<Handle>(Handle{std::move(t)});
  auto ext = Napi::External<Handle>::New(env, owned.get(), [](Napi::Env env, Handle* h) {
    release(env, h);
    delete h;
  });
  Handle* h = owned.release();
  h->bytes = tensorBytes(h->tensor);
  g_liveHandles += 1;
  g_liveBytes += h->bytes;
  ext.TypeTag(&kTensorTag);
  return ext;
}

// A bad argument: its type (raised as a JavaScript TypeError), or, as ArgRangeError, its value
// (a RangeError), as Node's own functions report them.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ArgRangeError : ArgError {
  using ArgError::ArgError;
};

Handle* handleOf(const Napi::Value& v, size_t i) {
  if (!v.IsExternal() || !v.As<Napi::External<Handle>>().CheckTypeTag(&kTensorTag)) {
    throw ArgError("argument " + std::to_string(i) + ": expected a tensor");
  }
  return v.As<Napi::External<Handle>>().Data();
}

Tensor tensorOf(const Napi::Value& v, size_t i) {
  Handle* h = handleOf(v, i);
  if (h->disposed) throw ArgError("argument " + std::to_string(i) + ": tensor was disposed");
  return h->tensor;
}

// ---------------------------------------------------------------------------------------------
// Argument conversion: From<T>::get(value, index)

c10::ScalarType parseDtype(const std::string& s) {
  if (s == "float32") return at::kFloat;
  if (s == "float64") return at::kDouble;
  if (s == "float16") return at::kHalf;
  if (s == "bfloat16") return at::kBFloat16;
  if (s == "int64") return at::kLong;
  if (s == "int32") return at::kInt;
  if (s == "int16") return at::kShort;
  if (s == "int8") return at::kChar;
  if (s == "uint8") return at::kByte;
  if (s == "bool") return at::kBool;
  throw ArgError("unknown dtype '" + s + "' (expected float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8 or bool)");
}

std::string dtypeName(c10::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(t);
  }
}

struct Dtype {
  c10::ScalarType type;
};
struct Device {
  c10::Device device;
};

template <typename T>
struct From;

template <>
struct From<Tensor> {
  static Tensor get(const Napi::Value& v, size_t i) { return tensorOf(v, i); }
};
template <>
struct From<OptTensor> {
  static OptTensor get(const Napi::Value& v, size_t i) {
    if (v.IsNull() || v.IsUndefined()) return c10::nullopt;
    return tensorOf(v, i);
  }
};
template <>
struct From<double> {
  static double get(const Napi::Value& v, size_t i) {
    if (!v.IsNumber()) throw ArgError("argument " + std::to_string(i) + ": expected a number");
    return v.As<Napi::Number>().DoubleValue();
  }
};
template <>
struct From<int64_t> {
  static int64_t get(const Napi::Value& v, size_t i) {
    if (!v.IsNumber()) throw ArgError("argument " + std::to_string(i) + ": expected an integer");
    double d = v.As<Napi::Number>().DoubleValue();
    // Range first: converting NaN or a double outside int64 to int64 is undefined behaviour.
    if (!(std::fabs(d) <= 9007199254740992.0) || d != std::trunc(d)) {
      std::ostringstream got;
      got << d;
      throw ArgRangeError("argument " + std::to_string(i) + ": expected an integer (at most 2^53 in magnitude), got " + got.str());
    }
    return static_cast<int64_t>(d);
  }
};
template <>
struct From<c10::optional<int64_t>> {
  static c10::optional<int64_t> get(const Napi::Value& v, size_t i) {
    if (v.IsNull() || v.IsUndefined()) return c10::nullopt;
    return From<int64_t>::get(v, i);
  }
};
template <>
struct From<c10::optional<double>> {
  static c10::optional<double> get(const Napi::Value& v, size_t i) {
    if (v.IsNull() || v.IsUndefined()) return c10::nullopt;
    return From<double>::get(v, i);
  }
};
// A JavaScript number used as a scalar operand. JavaScript has one number type, so an integral
// value becomes an integer Scalar (as a Python int: int tensors stay int, float tensors stay
// float) and any other value a floating one (as a Python float: int tensors promote to float).
// A plain double Scalar would turn int64 + 1 into float32, and make int64.add_(1) and int + int
// (alpha 1.0) throw.
struct Num {
  at::Scalar value;
};
template <>
struct From<Num> {
  static Num get(const Napi::Value& v, size_t i) {
    if (!v.IsNumber()) throw ArgError("argument " + std::to_string(i) + ": expected a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::trunc(d) == d && std::fabs(d) <= 9007199254740992.0 && !(d == 0 && std::signbit(d))) {
      return {at::Scalar(static_cast<int64_t>(d))};
    }
    return {at::Scalar(d)};
  }
};
template <>
struct From<c10::optional<Num>> {
  static c10::optional<Num> get(const Napi::Value& v, size_t i) {
    if (v.IsNull() || v.IsUndefined()) return c10::nullopt;
    return From<Num>::get(v, i);
  }
};
template <>
struct From<bool> {
  static bool get(const Napi::Value& v, size_t i) {
    if (!v.IsBoolean()) throw ArgError("argument " + std::to_string(i) + ": expected a boolean");
    return v.As<Napi::Boolean>().Value();
  }
};
template <>
struct From<std::string> {
  static std::string get(const Napi::Value& v, size_t i) {
    if (!v.IsString()) throw ArgError("argument " + std::to_string(i) + ": expected a string");
    return v.As<Napi::String>().Utf8Value();
  }
};
template <>
struct From<Dtype> {
  static Dtype get(const Napi::Value& v, size_t i) { return {parseDtype(From<std::string>::get(v, i))}; }
};
template <>
struct From<Device> {
  static Device get(const Napi::Value& v, size_t i) { return {c10::Device(From<std::string>::get(v, i))}; }
};
template <>
struct From<Vec> {
  static Vec get(const Napi::Value& v, size_t i) {
    if (!v.IsArray()) throw ArgError("argument " + std::to_string(i) + ": expected an array of integers");
    auto a = v.As<Napi::Array>();
    Vec out(a.Length());
    for (uint32_t k = 0; k < a.Length(); k++) out[k] = From<int64_t>::get(a.Get(k), i);
    return out;
  }
};
template <>
struct From<std::vector<Tensor>> {
  static std::vector<Tensor> get(const Napi::Value& v, size_t i) {
    if (!v.IsArray()) throw ArgError("argument " + std::to_string(i) + ": expected an array of tensors");
    auto a = v.As<Napi::Array>();
    std::vector<Tensor> out;
    out.reserve(a.Length());
    for (uint32_t k = 0; k < a.Length(); k++) out.push_back(tensorOf(a.Get(k), i));
    return out;
  }
};
template <>
struct From<std::vector<OptTensor>> {
  static std::vector<OptTensor> get(const Napi::Value& v, size_t i) {
    if (!v.IsArray()) throw ArgError("argument " + std::to_string(i) + ": expected an array of tensors or nulls");
    auto a = v.As<Napi::Array>();
    std::vector<OptTensor> out;
    for (uint32_t k = 0; k < a.Length(); k++) out.push_back(From<OptTensor>::get(a.Get(k), i));
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// Result conversion

Napi::Value toJs(Napi::Env env, Tensor t) {
  if (!t.defined()) return env.Null();
  return wrap(env, std::move(t));
}
Napi::Value toJs(Napi::Env env, double d) { return Napi::Number::New(env, d); }
Napi::Value toJs(Napi::Env env, int64_t d) { return Napi::Number::New(env, static_cast<double>(d)); }
Napi::Value toJs(Napi::Env env, bool b) { return Napi::Boolean::New(env, b); }
Napi::Value toJs(Napi::Env env, const std::string& s) { return Napi::String::New(env, s); }
Napi::Value toJs(Napi::Env env, const Vec& v) {
  auto a = Napi::Array::New(env, v.size());
  for (size_t k = 0; k < v.size(); k++) a.Set(static_cast<uint32_t>(k), Napi::Number::New(env, static_cast<double>(v[k])));
  return a;
}
Napi::Value toJs(Napi::Env env, const std::vector<Tensor>& v) {
  auto a = Napi::Array::New(env, v.size());
  for (size_t k = 0; k < v.size(); k++) a.Set(static_cast<uint32_t>(k), toJs(env, v[k]));
  return a;
}
Napi::Value toJs(Napi::Env env, const std::tuple<Tensor, Tensor>& t) {
  auto a = Napi::Array::New(env, 2);
  a.Set(0u, toJs(env, std::get<0>(t)));
  a.Set(1u, toJs(env, std::get<1>(t)));
  return a;
}

// ---------------------------------------------------------------------------------------------
// The adapter and the guard

// Raises a JavaScript Error with `name: message`. Never throws: the status is dropped on purpose,
// because napi_throw_error fails only when an exception is already pending (it propagates) or
// when the environment can no longer run JavaScript (a Worker being terminated), where there is
// nobody left to tell.
enum class JsError { Error, TypeError, RangeError };

void throwJs(napi_env env, const char* name, const char* message, JsError kind = JsError::Error) noexcept {
  try {
    const std::string text = std::string(name) + ": " + message;
    if (kind == JsError::TypeError) napi_throw_type_error(env, nullptr, text.c_str());
    else if (kind == JsError::RangeError) napi_throw_range_error(env, nullptr, text.c_str());
    else napi_throw_error(env, nullptr, text.c_str());
  } catch (...) {
    napi_throw_error(env, nullptr, name);  // out of memory for the message
  }
}

// The one guard every exported function runs in. Nothing thrown in `body` leaves it: a C++ error
// becomes a JavaScript exception prefixed with the function's name (the only place that adds the
// name, so messages inside need none), and the function returns an empty value.
//
// node-addon-api throws Napi::Error when an N-API call fails. Left to it, its callback wrapper
// would rethrow that into JavaScript, and when the environment is shutting down (Worker.terminate()
// during a call) that rethrow fails with another C++ exception that ends the whole process
// ("terminate called after throwing an instance of 'Napi::Error'"). So this guard must not throw.
template <typename Fn>
napi_value guarded(napi_env env, const char* name, Fn&& body) noexcept {
  try {
    try {
      return body();
    } catch (const Napi::Error& e) {
      // A JavaScript exception from a getter, or a failed N-API call: node-addon-api has taken the
      // pending exception into `e`, so throw it again (that fails harmlessly during shutdown). An
      // error without a value cannot be thrown as it is: its message is.
      if (napi_throw(env, e.Value()) == napi_invalid_arg) throwJs(env, name, e.what());
    } catch (const ArgRangeError& e) {
      throwJs(env, name, e.what(), JsError::RangeError);
    } catch (const ArgError& e) {
      throwJs(env, name, e.what(), JsError::TypeError);
    } catch (const c10::TypeError& e) {
      throwJs(env, name, e.what_without_backtrace(), JsError::TypeError);
    } catch (const c10::IndexError& e) {
      throwJs(env, name, e.what_without_backtrace(), JsError::RangeError);
    } catch (const c10::ValueError& e) {
      throwJs(env, name, e.what_without_backtrace(), JsError::RangeError);
    } catch (const c10::Error& e) {
      throwJs(env, name, e.what_without_backtrace());
    } catch (const std::exception& e) {
      throwJs(env, name, e.what());
    }
  } catch (...) {
    // Anything else, including a failure while reporting one (e.Value() itself can throw).
    throwJs(env, name, "unknown native error");
  }
  return nullptr;
}

template <typename R, typename... A, size_t... I>
Napi::Value invoke(R (*f)(A...), const Napi::CallbackInfo& info, std::index_sequence<I...>) {
  if constexpr (std::is_void_v<R>) {
    f(From<std::decay_t<A>>::get(info[I], I)...);
    return info.Env().Undefined();
  } else {
    return toJs(info.Env(), f(From<std::decay_t<A>>::get(info[I], I)...));
  }
}

template <typename R, typename... A>
void def(Napi::Env env, Napi::Object exports, const char* name, R (*f)(A...)) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [f, name](const Napi::CallbackInfo& info) -> Napi::Value {
                          return Napi::Value(info.Env(), guarded(info.Env(), name, [&]() -> napi_value {
                            if (info.Length() != sizeof...(A)) {
                              throw ArgError("expected " + std::to_string(sizeof...(A)) + " arguments, got " +
                                             std::to_string(info.Length()));
                            }
                            return invoke(f, info, std::index_sequence_for<A...>{});
                          }));
                        },
                        name));
}

// Raw functions, for the few calls that move bulk data or need the Env.
void defRaw(Napi::Env env, Napi::Object exports, const char* name, Napi::Value (*f)(const Napi::CallbackInfo&)) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [f, name](const Napi::CallbackInfo& info) {
                          return Napi::Value(info.Env(), guarded(info.Env(), name, [&]() -> napi_value { return f(info); }));
                        },
                        name));
}

// ---------------------------------------------------------------------------------------------
// Bulk data in and out

// The bytes behind a typed array, whether an ArrayBuffer or a SharedArrayBuffer backs it (the data
// loader's worker hands batches over in shared memory).
struct RawTypedArray {
  napi_typedarray_type type;
  size_t length;
  void* data;
};
RawTypedArray rawTypedArray(const Napi::Value& v, size_t i) {
  if (!v.IsTypedArray()) throw ArgError("argument " + std::to_string(i) + ": expected a typed array");
  RawTypedArray r{};
  napi_value buffer;
  size_t offset;
  napi_status s = napi_get_typedarray_info(v.Env(), v, &r.type, &r.length, &r.data, &buffer, &offset);
  if (s != napi_ok) throw ArgError("argument " + std::to_string(i) + ": cannot read the typed array");
  return r;
}

// The number of elements of `shape`, checked: a negative size, or a product beyond int64 (signed
// overflow is undefined behaviour), is refused rather than computed.
int64_t elementCount(const Vec& shape, size_t i) {
  int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) throw ArgRangeError("argument " + std::to_string(i) + ": negative dimension " + std::to_string(d) + " in shape");
    if (__builtin_mul_overflow(n, d, &n)) throw ArgRangeError("argument " + std::to_string(i) + ": shape has more elements than int64 can count");
  }
  return n;
}

// affineBytes(uint8Array, shape [B, C, ...], scale[C or 1], shift[C or 1]): a float32 tensor with
// x * scale[c] + shift[c] per channel, in one pass from the bytes (the usual "to float, then
// normalise" of image batches without three passes and a uint8 copy).
Napi::Value affineBytes(const Napi::CallbackInfo& info) {
  if (info.Length() != 4) throw ArgError("expected 4 arguments (bytes, shape, scale, shift), got " + std::to_string(info.Length()));
  RawTypedArray bytes = rawTypedArray(info[0], 0);
  if (bytes.type != napi_uint8_array) throw ArgError("argument 0: expected a Uint8Array");
  Vec shape = From<Vec>::get(info[1], 1);
  auto toDoubles = [](const Napi::Value& v, size_t i) {
    if (!v.IsArray()) throw ArgError("argument " + std::to_string(i) + ": expected an array of numbers");
    auto a = v.As<Napi::Array>();
    std::vector<double> out(a.Length());
    for (uint32_t k = 0; k < a.Length(); k++) out[k] = From<double>::get(a.Get(k), i);
    return out;
  };
  std::vector<double> scale = toDoubles(info[2], 2), shift = toDoubles(info[3], 3);
  if (shape.size() < 2) throw ArgRangeError("argument 1: shape must be [B, C, ...], got " + std::to_string(shape.size()) + " dimension(s)");
  const int64_t n = elementCount(shape, 1);
  if (n != static_cast<int64_t>(bytes.length)) {
    throw ArgRangeError("shape has " + std::to_string(n) + " elements but the array has " + std::to_string(bytes.length));
  }
  const int64_t batch = shape[0], channels = shape[1];
  for (const auto* values : {&scale, &shift}) {
    if (values->size() != 1 && static_cast<int64_t>(values->size()) != channels) {
      throw ArgRangeError("scale and shift need 1 or C = " + std::to_string(channels) + " values each, got " + std::to_string(scale.size()) +
                     " and " + std::to_string(shift.size()));
    }
  }
  Tensor t = at::empty(shape, at::TensorOptions().dtype(at::kFloat));
  float* out = t.data_ptr<float>();
  const uint8_t* in = static_cast<const uint8_t*>(bytes.data);
  // The product of the trailing sizes, not n / (B * C): that divides by zero on an empty batch.
  int64_t plane = 1;
  for (size_t d = 2; d < shape.size(); d++) plane *= shape[d];
  for (int64_t i = 0, idx = 0; i < batch; i++) {
    for (int64_t c = 0; c < channels; c++) {
      const float a = static_cast<float>(scale.size() == 1 ? scale[0] : scale[c]);
      const float b = static_cast<float>(shift.size() == 1 ? shift[0] : shift[c]);
      for (int64_t k = 0; k < plane; k++, idx++) out[idx] = static_cast<float>(in[idx]) * a + b;
    }
  }
  return wrap(info.Env(), t);
}

// fromArray(typedArray, shape): copies the typed array's bytes into a new tensor of its element type.
Napi::Value fromArray(const Napi::CallbackInfo& info) {
  if (info.Length() != 2) throw ArgError("expected 2 arguments (typedArray, shape), got " + std::to_string(info.Length()));
  RawTypedArray ta = rawTypedArray(info[0], 0);
  Vec shape = From<Vec>::get(info[1], 1);
  c10::ScalarType type;
  switch (ta.type) {
    case napi_float32_array: type = at::kFloat; break;
    case napi_float64_array: type = at::kDouble; break;
    case napi_int32_array: type = at::kInt; break;
    case napi_bigint64_array: type = at::kLong; break;
    case napi_uint8_array: type = at::kByte; break;
    case napi_int8_array: type = at::kChar; break;
    case napi_int16_array: type = at::kShort; break;
    default: throw ArgError("argument 0: unsupported typed array (use Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array or Int16Array)");
  }
  const int64_t n = elementCount(shape, 1);
  if (n != static_cast<int64_t>(ta.length)) {
    throw ArgRangeError("shape has " + std::to_string(n) + " elements but the array has " + std::to_string(ta.length));
  }
  Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
  if (n) std::memcpy(t.data_ptr(), ta.data, n * t.element_size());
  return wrap(info.Env(), t);
}

// toArray(t): a typed array holding a copy of the tensor's values (bool as Uint8Array).
Napi::Value toArray(const Napi::CallbackInfo& info) {
  if (info.Length() != 1) throw ArgError("expected 1 argument (tensor), got " + std::to_string(info.Length()));
  Tensor t = tensorOf(info[0], 0).detach().to(at::kCPU).contiguous();
  napi_typedarray_type kind;
  switch (t.scalar_type()) {
    case at::kFloat: kind = napi_float32_array; break;
    case at::kDouble: kind = napi_float64_array; break;
    case at::kInt: kind = napi_int32_array; break;
    case at::kLong: kind = napi_bigint64_array; break;
    case at::kByte: case at::kBool: kind = napi_uint8_array; break;
    case at::kChar: kind = napi_int8_array; break;
    case at::kShort: kind = napi_int16_array; break;
    default: t = t.to(at::kFloat); kind = napi_float32_array; break;
  }
  size_t n = static_cast<size_t>(t.numel());
  auto buf = Napi::ArrayBuffer::New(info.Env(), n * t.element_size());
  if (n) std::memcpy(buf.Data(), t.data_ptr(), n * t.element_size());
  napi_value out;
  napi_status status = napi_create_typedarray(info.Env(), kind, n, buf, 0, &out);
  NAPI_THROW_IF_FAILED(info.Env(), status, Napi::Value());
  return Napi::Value(info.Env(), out);
}

// ceGradNormSq(logits [M, C], labels [M]): ||softmax(z_i) - onehot(y_i)||^2 per row, as a
// Float64Array. This is the quantity LOW weights are built from for cross-entropy; computing it in
// one pass (in double precision) instead of six tensor ops keeps LOW's cost per step negligible.
Napi::Value ceGradNormSq(const Napi::CallbackInfo& info) {
  if (info.Length() != 2) throw ArgError("expected 2 arguments (logits, labels), got " + std::to_string(info.Length()));
  Tensor z = tensorOf(info[0], 0).detach();
  Tensor y = tensorOf(info[1], 1);
  TORCH_CHECK(z.dim() == 2, "logits must be 2-d [M, C], got shape ", z.sizes());
  TORCH_CHECK(y.dim() == 1 && y.size(0) == z.size(0), "labels must be 1-d with ", z.size(0), " entries, got shape ", y.sizes());
  TORCH_CHECK(!at::isFloatingType(y.scalar_type()), "labels must be integers, got ", y.scalar_type());
  z = z.to(at::kCPU, at::kDouble).contiguous();
  y = y.to(at::kCPU, at::kLong).contiguous();
  const int64_t m = z.size(0), c = z.size(1);
  const double* zp = z.data_ptr<double>();
  const int64_t* yp = y.data_ptr<int64_t>();
  auto out = Napi::Float64Array::New(info.Env(), static_cast<size_t>(m));
  for (int64_t i = 0; i < m; i++) {
    const double* row = zp + i * c;
    const int64_t label = yp[i];
    TORCH_CHECK(label >= 0 && label < c, "label ", label, " of row ", i, " is out of range for ", c, " classes");
    double mx = row[0];
    for (int64_t k = 1; k < c; k++) mx = row[k] > mx ? row[k] : mx;
    double sum = 0;
    for (int64_t k = 0; k < c; k++) sum += std::exp(row[k] - mx);
    double acc = 0;
    for (int64_t k = 0; k < c; k++) {
      const double d = std::exp(row[k] - mx) / sum - (k == label ? 1.0 : 0.0);
      acc += d * d;
    }
    out[static_cast<size_t>(i)] = acc;
  }
  return out;
}

// dispose(t): frees the tensor now rather than when the collector gets to it. Idempotent.
Napi::Value dispose(const Napi::CallbackInfo& info) {
  if (info.Length() != 1) throw ArgError("expected 1 argument (tensor), got " + std::to_string(info.Length()));
  release(info.Env(), handleOf(info[0], 0));
  return info.Env().Undefined();
}

// reportMemory(t): the tensor is left to the collector (no scope frees it): V8 is told its size,
// so that forgotten tensors make it collect. Idempotent.
Napi::Value reportMemory(const Napi::CallbackInfo& info) {
  if (info.Length() != 1) throw ArgError("expected 1 argument (tensor), got " + std::to_string(info.Length()));
  Handle* h = handleOf(info[0], 0);
  if (!h->disposed && !h->reported && h->bytes) {
    h->reported = h->bytes;
    g_reportedBytes += h->reported;
    reportExternalMemory(info.Env(), h->reported);
  }
  return info.Env().Undefined();
}

Napi::Value isDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), handleOf(info[0], 0)->disposed);
}

// ---------------------------------------------------------------------------------------------
// TorchScript modules (native/script_module.h), as externals of their own tag

const napi_type_tag kScriptTag = {0x6c6f772d74732d73ULL, 0x6372697074000001ULL};

struct ScriptHandle {
  std::unique_ptr<torch::jit::Module> module;
};

torch::jit::Module& scriptOf(const Napi::Value& v, size_t i) {
  if (!v.IsExternal() || !v.As<Napi::External<ScriptHandle>>().CheckTypeTag(&kScriptTag)) {
    throw ArgError("argument " + std::to_string(i) + ": expected a TorchScript module");
  }
  ScriptHandle* h = v.As<Napi::External<ScriptHandle>>().Data();
  if (!h->module) throw ArgError("argument " + std::to_string(i) + ": TorchScript module was disposed");
  return *h->module;
}

Napi::Value wrapScript(Napi::Env env, torch::jit::Module m) {
  auto owned = std::make_unique<ScriptHandle>(ScriptHandle{std::make_unique<torch::jit::Module>(std::move(m))});
  auto ext = Napi::External<ScriptHandle>::New(env, owned.get(), [](Napi::Env, ScriptHandle* h) { delete h; });
  owned.release();
  ext.TypeTag(&kScriptTag);
  return ext;
}

Napi::Value namedTensorsToJs(Napi::Env env, const low::script::NamedTensors& named) {
  auto a = Napi::Array::New(env, named.size());
  for (size_t k = 0; k < named.size(); k++) {
    auto pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, named[k].first));
    pair.Set(1u, wrap(env, named[k].second));
    a.Set(static_cast<uint32_t>(k), pair);
  }
  return a;
}

low::script::NamedTensors namedTensorsOf(const Napi::Value& names, const Napi::Value& tensors, size_t i) {
  if (!names.IsArray()) throw ArgError("argument " + std::to_string(i) + ": expected an array of names");
  auto n = names.As<Napi::Array>();
  auto ts = From<std::vector<Tensor>>::get(tensors, i + 1);
  if (n.Length() != ts.size()) throw ArgRangeError("names and tensors differ in number");
  low::script::NamedTensors out;
  for (uint32_t k = 0; k < n.Length(); k++) out.emplace_back(From<std::string>::get(n.Get(k), i), ts[k]);
  return out;
}

Napi::Value bytesToJs(Napi::Env env, const std::vector<char>& bytes) { return Napi::Buffer<char>::Copy(env, bytes.data(), bytes.size()); }

Napi::Value scriptLoad(const Napi::CallbackInfo& info) {
  if (info.Length() != 1) throw ArgError("expected 1 argument (path), got " + std::to_string(info.Length()));
  return wrapScript(info.Env(), low::script::load(From<std::string>::get(info[0], 0)));
}
Napi::Value scriptParameters(const Napi::CallbackInfo& info) {
  return namedTensorsToJs(info.Env(), low::script::parameters(scriptOf(info[0], 0)));
}
Napi::Value scriptBuffers(const Napi::CallbackInfo& info) {
  return namedTensorsToJs(info.Env(), low::script::buffers(scriptOf(info[0], 0)));
}
Napi::Value scriptTrain(const Napi::CallbackInfo& info) {
  scriptOf(info[0], 0).train(From<bool>::get(info[1], 1));
  return info.Env().Undefined();
}
Napi::Value scriptForward(const Napi::CallbackInfo& info) {
  if (info.Length() != 2) throw ArgError("expected 2 arguments (module, input), got " + std::to_string(info.Length()));
  return wrap(info.Env(), low::script::forward(scriptOf(info[0], 0), tensorOf(info[1], 1)));
}
// scriptForwardWith(module, names, tensors, input): forward with those parameters substituted.
Napi::Value scriptForwardWith(const Napi::CallbackInfo& info) {
  if (info.Length() != 4) throw ArgError("expected 4 arguments (module, names, tensors, input), got " + std::to_string(info.Length()));
  auto named = namedTensorsOf(info[1], info[2], 1);
  std::vector<std::string> names;
  std::vector<Tensor> values;
  for (auto& [n, t] : named) names.push_back(n), values.push_back(t);
  return wrap(info.Env(), low::script::forwardWith(scriptOf(info[0], 0), names, values, tensorOf(info[3], 3)));
}
Napi::Value scriptSave(const Napi::CallbackInfo& info) { return bytesToJs(info.Env(), low::script::save(scriptOf(info[0], 0))); }
Napi::Value scriptDispose(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal() || !info[0].As<Napi::External<ScriptHandle>>().CheckTypeTag(&kScriptTag)) {
    throw ArgError("argument 0: expected a TorchScript module");
  }
  info[0].As<Napi::External<ScriptHandle>>().Data()->module.reset();
  return info.Env().Undefined();
}
// scriptTrace(className, names, tensors, isBuffer[], example, forward): the bytes of a TorchScript
// file traced from the JavaScript function forward(tensor) -> tensor, called here on `example`.
Napi::Value scriptTrace(const Napi::CallbackInfo& info) {
  if (info.Length() != 6) throw ArgError("expected 6 arguments (className, names, tensors, isBuffer, example, forward), got " +
                                         std::to_string(info.Length()));
  Napi::Env env = info.Env();
  const std::string className = From<std::string>::get(info[0], 0);
  auto named = namedTensorsOf(info[1], info[2], 1);
  if (!info[3].IsArray()) throw ArgError("argument 3: expected an array of booleans");
  auto flags = info[3].As<Napi::Array>();
  if (flags.Length() != named.size()) throw ArgRangeError("isBuffer and tensors differ in number");
  std::vector<bool> isBuffer;
  for (uint32_t k = 0; k < flags.Length(); k++) isBuffer.push_back(From<bool>::get(flags.Get(k), 3));
  Tensor example = tensorOf(info[4], 4);
  if (!info[5].IsFunction()) throw ArgError("argument 5: expected a function");
  Napi::Function fn = info[5].As<Napi::Function>();
  // A JavaScript exception in forward comes back as Napi::Error; the tracer abandons its trace on
  // the way out and the guard rethrows the exception itself.
  auto forward = [&](const Tensor& x) -> Tensor {
    Napi::Value out = fn.Call({wrap(env, x)});
    if (!out.IsExternal() || !out.As<Napi::External<Handle>>().CheckTypeTag(&kTensorTag)) throw ArgError("forward returned something other than a tensor");
    return tensorOf(out, 0);
  };
  return bytesToJs(env, low::script::trace(className, named, isBuffer, example, forward));
}
// saveStateDict(names, tensors): the bytes of a torch.save file holding that dict.
Napi::Value saveStateDict(const Napi::CallbackInfo& info) {
  if (info.Length() != 2) throw ArgError("expected 2 arguments (names, tensors), got " + std::to_string(info.Length()));
  return bytesToJs(info.Env(), low::script::saveStateDict(namedTensorsOf(info[0], info[1], 0)));
}

// ---------------------------------------------------------------------------------------------
// Helpers used by the declarations

// The cores this process may run on: its CPU affinity where the system reports one (as Node's
// os.availableParallelism() does), else the hardware's count.
int64_t usableCores() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

at::TensorOptions opts(const Dtype& d, const Device& dev) { return at::TensorOptions().dtype(d.type).device(dev.device); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// The declaration list. One line per function; names are the JavaScript names.

#define F +[]

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto d = [&](const char* name, auto f) { def(env, exports, name, f); };

  defRaw(env, exports, "fromArray", fromArray);
  defRaw(env, exports, "toArray", toArray);
  defRaw(env, exports, "dispose", dispose);
  defRaw(env, exports, "ceGradNormSq", ceGradNormSq);
  defRaw(env, exports, "affineBytes", affineBytes);
  defRaw(env, exports, "isDisposed", isDisposed);
  defRaw(env, exports, "reportMemory", reportMemory);
  defRaw(env, exports, "scriptLoad", scriptLoad);
  defRaw(env, exports, "scriptParameters", scriptParameters);
  defRaw(env, exports, "scriptBuffers", scriptBuffers);
  defRaw(env, exports, "scriptTrain", scriptTrain);
  defRaw(env, exports, "scriptForward", scriptForward);
  defRaw(env, exports, "scriptForwardWith", scriptForwardWith);
  defRaw(env, exports, "scriptSave", scriptSave);
  defRaw(env, exports, "scriptDispose", scriptDispose);
  defRaw(env, exports, "scriptTrace", scriptTrace);
  defRaw(env, exports, "saveStateDict", saveStateDict);

  // Library and process state
  d("version", F() -> std::string {
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
  });
  d("config", F() -> std::string { return at::show_config(); });
  d("parallelInfo", F() -> std::string { return at::get_parallel_info(); });
  // libtorch starts every thread it is given at once: a count far above the cores (--threads
  // 100000) stalls the machine instead of failing, so it is refused here as well as in TypeScript.
  d("setNumThreads", F(int64_t n) {
    const int64_t cores = usableCores();
    if (n < 1 || n > cores) {
      throw ArgRangeError("expected a thread count from 1 to " + std::to_string(cores) + " (the cores this process can use), got " + std::to_string(n));
    }
    at::set_num_threads(static_cast<int>(n));
  });
  d("getNumThreads", F() -> int64_t { return at::get_num_threads(); });
  // glibc serves allocations above its mmap threshold (at most 32 MB) with fresh mappings and
  // returns freed memory at the top of the heap to the system: a tensor that size is then paid for
  // in page faults on every use. libtorch allocates buffers that large on every step (a
  // convolution's im2col buffer: 74 MB for LeNet-5 at batch 1280), so they come from the heap and
  // up to 1 GiB of freed memory stays with the process for the next step. False off glibc.
  d("keepFreedMemory", F() -> bool {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
#else
    return false;
#endif
  });
  d("manualSeed", F(int64_t s) { at::manual_seed(static_cast<uint64_t>(s)); });
  // The default CPU generator's whole state (a uint8 tensor), and its restoration: what a
  // checkpoint taken in the middle of an epoch needs for dropout to continue exactly.
  d("getRngState", F() -> Tensor {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return gen.get_state();
  });
  d("setRngState", F(Tensor state) {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  });
  d("cudaIsAvailable", F() -> bool { return at::hasCUDA(); });
  d("cudaDeviceCount", F() -> int64_t { return static_cast<int64_t>(at::getNumGPUs()); });
  d("liveHandles", F() -> int64_t { return g_liveHandles; });
  d("liveBytes", F() -> int64_t { return g_liveBytes; });
  d("reportedBytes", F() -> int64_t { return g_reportedBytes; });
  d("setGradEnabled", F(bool on) { at::GradMode::set_enabled(on); });
  d("isGradEnabled", F() -> bool { return at::GradMode::is_enabled(); });

  // Tensor facts
  d("shape", F(Tensor t) -> Vec { return t.sizes().vec(); });
  d("dtype", F(Tensor t) -> std::string { return dtypeName(t.scalar_type()); });
  d("device", F(Tensor t) -> std::string { return t.device().str(); });
  d("numel", F(Tensor t) -> int64_t { return t.numel(); });
  d("requiresGrad", F(Tensor t) -> bool { return t.requires_grad(); });
  d("isLeaf", F(Tensor t) -> bool { return t.is_leaf(); });
  d("isContiguous", F(Tensor t) -> bool { return t.is_contiguous(); });
  d("item", F(Tensor t) -> double {
    TORCH_CHECK(t.numel() == 1, "item() needs a tensor with one element, got shape ", t.sizes());
    return t.item<double>();
  });
  d("sameStorage", F(Tensor a, Tensor b) -> bool { return a.is_alias_of(b); });

  // Creation
  d("zeros", F(Vec s, Dtype dt, Device dev) -> Tensor { return at::zeros(s, opts(dt, dev)); });
  d("ones", F(Vec s, Dtype dt, Device dev) -> Tensor { return at::ones(s, opts(dt, dev)); });
  d("full", F(Vec s, Num v, Dtype dt, Device dev) -> Tensor { return at::full(s, v.value, opts(dt, dev)); });
  d("empty", F(Vec s, Dtype dt, Device dev) -> Tensor { return at::empty(s, opts(dt, dev)); });
  d("arange", F(double start, double end, double step, Dtype dt, Device dev) -> Tensor { return at::arange(start, end, step, opts(dt, dev)); });
  d("linspace", F(double start, double end, int64_t steps, Dtype dt, Device dev) -> Tensor { return at::linspace(start, end, steps, opts(dt, dev)); });
  d("eye", F(int64_t n, Dtype dt, Device dev) -> Tensor { return at::eye(n, opts(dt, dev)); });
  d("rand", F(Vec s, Dtype dt, Device dev) -> Tensor { return at::rand(s, opts(dt, dev)); });
  d("randn", F(Vec s, Dtype dt, Device dev) -> Tensor { return at::randn(s, opts(dt, dev)); });
  d("randint", F(int64_t lo, int64_t hi, Vec s, Device dev) -> Tensor { return at::randint(lo, hi, s, opts({at::kLong}, dev)); });
  d("randperm", F(int64_t n, Device dev) -> Tensor { return at::randperm(n, opts({at::kLong}, dev)); });
  d("zerosLike", F(Tensor t) -> Tensor { return at::zeros_like(t); });
  d("onesLike", F(Tensor t) -> Tensor { return at::ones_like(t); });
  d("fullLike", F(Tensor t, Num v) -> Tensor { return at::full_like(t, v.value); });
  d("scalarTensor", F(double v, Dtype dt, Device dev) -> Tensor { return at::scalar_tensor(v, opts(dt, dev)); });

  // Conversion and copies
  d("toDtype", F(Tensor t, Dtype dt) -> Tensor { return t.to(dt.type); });
  d("toDevice", F(Tensor t, Device dev) -> Tensor { return t.to(dev.device); });
  // t.data = v: v's storage (device, dtype) under t's identity, as Module.to moves parameters.
  d("setData", F(Tensor t, Tensor v) { t.set_data(v); });
  d("clone", F(Tensor t) -> Tensor { return t.clone(); });
  d("contiguous", F(Tensor t) -> Tensor { return t.contiguous(); });
  d("detach", F(Tensor t) -> Tensor { return t.detach(); });

  // Elementwise, tensor with tensor (broadcasting)
  d("add", F(Tensor a, Tensor b, Num alpha) -> Tensor { return at::add(a, b, alpha.value); });
  d("sub", F(Tensor a, Tensor b, Num alpha) -> Tensor { return at::sub(a, b, alpha.value); });
  d("mul", F(Tensor a, Tensor b) -> Tensor { return at::mul(a, b); });
  d("div", F(Tensor a, Tensor b) -> Tensor { return at::div(a, b); });
  d("pow", F(Tensor a, Tensor b) -> Tensor { return at::pow(a, b); });
  d("remainder", F(Tensor a, Tensor b) -> Tensor { return at::remainder(a, b); });
  d("maximum", F(Tensor a, Tensor b) -> Tensor { return at::maximum(a, b); });
  d("minimum", F(Tensor a, Tensor b) -> Tensor { return at::minimum(a, b); });
  d("eq", F(Tensor a, Tensor b) -> Tensor { return at::eq(a, b); });
  d("ne", F(Tensor a, Tensor b) -> Tensor { return at::ne(a, b); });
  d("lt", F(Tensor a, Tensor b) -> Tensor { return at::lt(a, b); });
  d("le", F(Tensor a, Tensor b) -> Tensor { return at::le(a, b); });
  d("gt", F(Tensor a, Tensor b) -> Tensor { return at::gt(a, b); });
  d("ge", F(Tensor a, Tensor b) -> Tensor { return at::ge(a, b); });
  d("logicalAnd", F(Tensor a, Tensor b) -> Tensor { return at::logical_and(a, b); });
  d("logicalOr", F(Tensor a, Tensor b) -> Tensor { return at::logical_or(a, b); });
  d("where", F(Tensor c, Tensor a, Tensor b) -> Tensor { return at::where(c, a, b); });

  // Elementwise, tensor with a number (a number keeps the tensor's dtype, as in PyTorch)
  d("addScalar", F(Tensor a, Num b) -> Tensor { return at::add(a, b.value); });
  d("subScalar", F(Tensor a, Num b) -> Tensor { return at::sub(a, b.value); });
  d("rsubScalar", F(Tensor a, Num b) -> Tensor { return at::rsub(a, b.value); });
  d("mulScalar", F(Tensor a, Num b) -> Tensor { return at::mul(a, b.value); });
  d("divScalar", F(Tensor a, Num b) -> Tensor { return at::div(a, b.value); });
  d("powScalar", F(Tensor a, Num b) -> Tensor { return at::pow(a, b.value); });
  d("remainderScalar", F(Tensor a, Num b) -> Tensor { return at::remainder(a, b.value); });
  d("eqScalar", F(Tensor a, Num b) -> Tensor { return at::eq(a, b.value); });
  d("neScalar", F(Tensor a, Num b) -> Tensor { return at::ne(a, b.value); });
  d("ltScalar", F(Tensor a, Num b) -> Tensor { return at::lt(a, b.value); });
  d("leScalar", F(Tensor a, Num b) -> Tensor { return at::le(a, b.value); });
  d("gtScalar", F(Tensor a, Num b) -> Tensor { return at::gt(a, b.value); });
  d("geScalar", F(Tensor a, Num b) -> Tensor { return at::ge(a, b.value); });
  d("clamp", F(Tensor a, c10::optional<Num> lo, c10::optional<Num> hi) -> Tensor {
    return at::clamp(a, lo ? c10::optional<at::Scalar>(lo->value) : c10::nullopt, hi ? c10::optional<at::Scalar>(hi->value) : c10::nullopt);
  });
  d("maskedFill", F(Tensor a, Tensor mask, Num v) -> Tensor { return at::masked_fill(a, mask, v.value); });

  // Elementwise, unary
  d("neg", F(Tensor a) -> Tensor { return at::neg(a); });
  d("abs", F(Tensor a) -> Tensor { return at::abs(a); });
  d("sign", F(Tensor a) -> Tensor { return at::sign(a); });
  d("exp", F(Tensor a) -> Tensor { return at::exp(a); });
  d("log", F(Tensor a) -> Tensor { return at::log(a); });
  d("log1p", F(Tensor a) -> Tensor { return at::log1p(a); });
  d("sqrt", F(Tensor a) -> Tensor { return at::sqrt(a); });
  d("rsqrt", F(Tensor a) -> Tensor { return at::rsqrt(a); });
  d("square", F(Tensor a) -> Tensor { return at::square(a); });
  d("reciprocal", F(Tensor a) -> Tensor { return at::reciprocal(a); });
  d("floor", F(Tensor a) -> Tensor { return at::floor(a); });
  d("ceil", F(Tensor a) -> Tensor { return at::ceil(a); });
  d("round", F(Tensor a) -> Tensor { return at::round(a); });
  d("sin", F(Tensor a) -> Tensor { return at::sin(a); });
  d("cos", F(Tensor a) -> Tensor { return at::cos(a); });
  d("tanh", F(Tensor a) -> Tensor { return at::tanh(a); });
  d("sigmoid", F(Tensor a) -> Tensor { return at::sigmoid(a); });
  d("relu", F(Tensor a) -> Tensor { return at::relu(a); });
  d("logicalNot", F(Tensor a) -> Tensor { return at::logical_not(a); });
  d("isnan", F(Tensor a) -> Tensor { return at::isnan(a); });
  d("isfinite", F(Tensor a) -> Tensor { return at::isfinite(a); });

  // Reductions
  d("sumAll", F(Tensor a) -> Tensor { return at::sum(a); });
  d("sum", F(Tensor a, Vec dims, bool keep) -> Tensor { return at::sum(a, dims, keep); });
  d("meanAll", F(Tensor a) -> Tensor { return at::mean(a); });
  d("mean", F(Tensor a, Vec dims, bool keep) -> Tensor { return at::mean(a, dims, keep); });
  d("prodAll", F(Tensor a) -> Tensor { return at::prod(a); });
  d("maxAll", F(Tensor a) -> Tensor { return at::max(a); });
  d("minAll", F(Tensor a) -> Tensor { return at::min(a); });
  d("maxDim", F(Tensor a, int64_t dim, bool keep) -> std::tuple<Tensor, Tensor> { return at::max(a, dim, keep); });
  d("minDim", F(Tensor a, int64_t dim, bool keep) -> std::tuple<Tensor, Tensor> { return at::min(a, dim, keep); });
  d("argmax", F(Tensor a, c10::optional<int64_t> dim, bool keep) -> Tensor { return at::argmax(a, dim, keep); });
  d("argmin", F(Tensor a, c10::optional<int64_t> dim, bool keep) -> Tensor { return at::argmin(a, dim, keep); });
  d("std", F(Tensor a, Vec dims, bool unbiased, bool keep) -> Tensor { return at::std(a, at::OptionalIntArrayRef(dims), unbiased, keep); });
  d("var", F(Tensor a, Vec dims, bool unbiased, bool keep) -> Tensor { return at::var(a, at::OptionalIntArrayRef(dims), unbiased, keep); });
  d("logsumexp", F(Tensor a, Vec dims, bool keep) -> Tensor { return at::logsumexp(a, dims, keep); });
  d("cumsum", F(Tensor a, int64_t dim) -> Tensor { return at::cumsum(a, dim); });
  d("any", F(Tensor a) -> Tensor { return at::any(a); });
  d("all", F(Tensor a) -> Tensor { return at::all(a); });
  d("sort", F(Tensor a, int64_t dim, bool descending) -> std::tuple<Tensor, Tensor> { return at::sort(a, dim, descending); });
  d("topk", F(Tensor a, int64_t k, int64_t dim, bool largest) -> std::tuple<Tensor, Tensor> { return at::topk(a, k, dim, largest, true); });
  d("bincount", F(Tensor a, int64_t minlength) -> Tensor { return at::bincount(a, {}, minlength); });

  // Linear algebra
  d("matmul", F(Tensor a, Tensor b) -> Tensor { return at::matmul(a, b); });

  // Shape and views
  d("reshape", F(Tensor a, Vec s) -> Tensor { return at::reshape(a, s); });
  d("view", F(Tensor a, Vec s) -> Tensor { return a.view(s); });
  d("permute", F(Tensor a, Vec dims) -> Tensor { return a.permute(dims); });
  d("transpose", F(Tensor a, int64_t d0, int64_t d1) -> Tensor { return at::transpose(a, d0, d1); });
  d("flatten", F(Tensor a, int64_t start, int64_t end) -> Tensor { return at::flatten(a, start, end); });
  d("squeeze", F(Tensor a, c10::optional<int64_t> dim) -> Tensor { return dim ? at::squeeze(a, *dim) : at::squeeze(a); });
  d("unsqueeze", F(Tensor a, int64_t dim) -> Tensor { return at::unsqueeze(a, dim); });
  d("expand", F(Tensor a, Vec s) -> Tensor { return a.expand(s); });
  d("repeat", F(Tensor a, Vec s) -> Tensor { return a.repeat(s); });
  d("flip", F(Tensor a, Vec dims) -> Tensor { return at::flip(a, dims); });
  d("narrow", F(Tensor a, int64_t dim, int64_t start, int64_t len) -> Tensor { return at::narrow(a, dim, start, len); });
  d("slice", F(Tensor a, int64_t dim, int64_t start, int64_t end, int64_t step) -> Tensor { return at::slice(a, dim, start, end, step); });
  d("select", F(Tensor a, int64_t dim, int64_t i) -> Tensor { return at::select(a, dim, i); });
  d("cat", F(std::vector<Tensor> ts, int64_t dim) -> Tensor { return at::cat(ts, dim); });
  d("stack", F(std::vector<Tensor> ts, int64_t dim) -> Tensor { return at::stack(ts, dim); });
  d("split", F(Tensor a, int64_t size, int64_t dim) -> std::vector<Tensor> { return at::split(a, size, dim); });
  d("chunk", F(Tensor a, int64_t n, int64_t dim) -> std::vector<Tensor> { return at::chunk(a, n, dim); });

  // Indexing
  d("indexSelect", F(Tensor a, int64_t dim, Tensor idx) -> Tensor { return at::index_select(a, dim, idx); });
  d("gather", F(Tensor a, int64_t dim, Tensor idx) -> Tensor { return at::gather(a, dim, idx); });
  d("scatter", F(Tensor a, int64_t dim, Tensor idx, Tensor src) -> Tensor { return at::scatter(a, dim, idx, src); });
  d("scatterAdd", F(Tensor a, int64_t dim, Tensor idx, Tensor src) -> Tensor { return at::scatter_add(a, dim, idx, src); });
  d("maskedSelect", F(Tensor a, Tensor mask) -> Tensor { return at::masked_select(a, mask); });
  d("index", F(Tensor a, Tensor idx) -> Tensor { return a.index({at::indexing::TensorIndex(idx)}); });
  d("indexPut_", F(Tensor a, Tensor idx, Tensor v) { a.index_put_({at::indexing::TensorIndex(idx)}, v); });
  d("nonzero", F(Tensor a) -> Tensor { return at::nonzero(a); });
  d("oneHot", F(Tensor a, int64_t n) -> Tensor { return at::one_hot(a, n); });

  // Neural-network functions
  d("linear", F(Tensor x, Tensor w, OptTensor b) -> Tensor { return at::linear(x, w, b); });
  d("conv2d", F(Tensor x, Tensor w, OptTensor b, Vec stride, Vec pad, Vec dil, int64_t groups) -> Tensor {
    return at::conv2d(x, w, b, stride, pad, dil, groups);
  });
  d("maxPool2d", F(Tensor x, Vec k, Vec stride, Vec pad, Vec dil, bool ceil) -> Tensor {
    return low::maxPool2d(x, k, stride, pad, dil, ceil, low::tangentLevel(x));
  });
  // libtorch's own kernel, values and indices: what the tests hold low::maxPool2d to.
  d("maxPool2dWithIndices", F(Tensor x, Vec k, Vec stride, Vec pad, Vec dil, bool ceil) -> std::tuple<Tensor, Tensor> { return at::max_pool2d_with_indices(x, k, stride, pad, dil, ceil); });
  d("avgPool2d", F(Tensor x, Vec k, Vec stride, Vec pad, bool ceil, bool countPad) -> Tensor {
    return at::avg_pool2d(x, k, stride, pad, ceil, countPad);
  });
  d("adaptiveAvgPool2d", F(Tensor x, Vec size) -> Tensor { return at::adaptive_avg_pool2d(x, size); });
  d("batchNorm", F(Tensor x, OptTensor w, OptTensor b, OptTensor rm, OptTensor rv, bool training, double momentum, double eps) -> Tensor {
    return at::batch_norm(x, w, b, rm, rv, training, momentum, eps, at::globalContext().userEnabledCuDNN());
  });
  d("dropout", F(Tensor x, double p, bool training) -> Tensor { return at::dropout(x, p, training); });
  d("softmax", F(Tensor x, int64_t dim) -> Tensor { return at::softmax(x, dim); });
  d("logSoftmax", F(Tensor x, int64_t dim) -> Tensor { return at::log_softmax(x, dim); });
  // reduction: 0 none, 1 mean, 2 sum (at::Reduction)
  d("crossEntropy", F(Tensor x, Tensor y, OptTensor w, int64_t reduction, double smoothing) -> Tensor {
    return at::cross_entropy_loss(x, y, w, reduction, -100, smoothing);
  });
  d("nllLoss", F(Tensor x, Tensor y, OptTensor w, int64_t reduction) -> Tensor { return at::nll_loss(x, y, w, reduction, -100); });
  d("bceWithLogits", F(Tensor x, Tensor y, OptTensor w, int64_t reduction) -> Tensor {
    return at::binary_cross_entropy_with_logits(x, y, w, c10::nullopt, reduction);
  });
  d("mseLoss", F(Tensor x, Tensor y, int64_t reduction) -> Tensor { return at::mse_loss(x, y, reduction); });

  // In place (used by optimizers, initializers and running statistics; call under noGrad)
  d("add_", F(Tensor a, Tensor b, Num alpha) { a.add_(b, alpha.value); });
  d("addScalar_", F(Tensor a, Num b) { a.add_(b.value); });
  d("mul_", F(Tensor a, Tensor b) { a.mul_(b); });
  d("mulScalar_", F(Tensor a, Num b) { a.mul_(b.value); });
  d("divScalar_", F(Tensor a, Num b) { a.div_(b.value); });
  d("addcmul_", F(Tensor a, Tensor b, Tensor c, double v) { a.addcmul_(b, c, v); });
  d("addcdiv_", F(Tensor a, Tensor b, Tensor c, double v) { a.addcdiv_(b, c, v); });
  d("copy_", F(Tensor a, Tensor b) { a.copy_(b); });
  d("zero_", F(Tensor a) { a.zero_(); });
  d("relu_", F(Tensor a) { a.relu_(); });
  d("fill_", F(Tensor a, Num v) { a.fill_(v.value); });
  d("clamp_", F(Tensor a, c10::optional<Num> lo, c10::optional<Num> hi) {
    a.clamp_(lo ? c10::optional<at::Scalar>(lo->value) : c10::nullopt, hi ? c10::optional<at::Scalar>(hi->value) : c10::nullopt);
  });
  d("uniform_", F(Tensor a, double lo, double hi) { a.uniform_(lo, hi); });
  d("normal_", F(Tensor a, double mean, double std) { a.normal_(mean, std); });
  d("bernoulli_", F(Tensor a, double p) { a.bernoulli_(p); });

  // Autograd
  d("setRequiresGrad", F(Tensor a, bool on) { a.requires_grad_(on); });
  d("grad", F(Tensor a) -> Tensor { return a.grad(); });
  d("setGrad", F(Tensor a, OptTensor g) { a.mutable_grad() = g ? *g : Tensor(); });
  d("backward", F(Tensor a, OptTensor g, bool retain) { a.backward(g ? *g : Tensor(), retain); });
  d("autogradGrad", F(std::vector<Tensor> outputs, std::vector<Tensor> inputs, std::vector<OptTensor> gradOutputs, bool retain, bool create, bool allowUnused) -> std::vector<Tensor> {
    std::vector<Tensor> go;
    for (auto& g : gradOutputs) go.push_back(g ? *g : Tensor());
    return torch::autograd::grad(outputs, inputs, go, retain, create, allowUnused);
  });

  // Data-parallel collectives (c10d's ProcessGroupGloo over a TCPStore; native/distributed.h).
  d("distAvailable", F() -> bool { return low::dist::available(); });
  d("distInit", F(std::string host, int64_t port, int64_t rank, int64_t size, bool hostStore, int64_t timeoutMs, std::string prefix,
                  std::string iface) { low::dist::init(host, port, rank, size, hostStore, timeoutMs, prefix, iface); });
  d("distDestroy", F() { low::dist::destroy(); });
  d("distRankAndSize", F() -> Vec { return low::dist::rankAndSize(); });
  d("distBroadcast", F(std::vector<Tensor> tensors, int64_t root) { low::dist::broadcast(tensors, root); });
  d("distAllReduceSum", F(Tensor t) { low::dist::allReduceSum(t); });
  d("distAllReduceSumDifferentiable", F(Tensor t) -> Tensor { return low::dist::allReduceSumDifferentiable(t); });
  d("distAllGather", F(Tensor t) -> std::vector<Tensor> { return low::dist::allGather(t); });
  d("distBarrier", F() { low::dist::barrier(); });

  // Forward-mode AD (PyTorch's torch.autograd.forward_ad): dual tensors carry a tangent through
  // the ops, giving Jacobian-vector products in one forward pass.
  d("acquireDualLevel", F() -> int64_t { return low::acquireDualLevel(); });
  d("releaseDualLevel", F() { low::releaseDualLevel(); });
  d("makeDual", F(Tensor primal, Tensor tangent, int64_t level) -> Tensor { return at::_make_dual(primal, tangent, level); });
  d("unpackDual", F(Tensor dual, int64_t level) -> std::tuple<Tensor, Tensor> { return at::_unpack_dual(dual, level); });

  return exports;
}

// Loading runs in the same guard as every call: a Worker terminated while it loads the addon
// leaves Init's N-API calls failing, and what they throw must not leave the module's init.
napi_value initModule(napi_env env, napi_value exports) {
  return guarded(env, "low_native (loading the addon)", [&]() -> napi_value { return Init(Napi::Env(env), Napi::Object(env, exports)); });
}

NAPI_MODULE(low_native, initModule)
