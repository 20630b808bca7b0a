#!/usr/bin/python3
"""Convert a PyTorch / torchvision state dict (.pth) into low-ts's tensor file format.

Usage:
    /usr/bin/python3 scripts/convert-torchvision-weights.py INPUT.pth OUTPUT.lowt [--unsafe-pickle]

Run it with Debian's /usr/bin/python3 (package python3-torch); torchvision is not needed. This
package downloads nothing: supply the .pth yourself, e.g. torchvision's ImageNet DenseNet-161
weights (densenet161-8d451a50.pth from torchvision's model zoo) fetched on a machine with internet
access. Then in TypeScript (src/models/):

    import { DenseNet161, loadPretrained } from './src/models/index.js';
    const model = new DenseNet161({ numClasses: 7 });
    loadPretrained(model, 'densenet161.lowt');   // skips the 1000-class classifier

What it does, in order:
  * torch.load(INPUT, map_location='cpu', weights_only=True) (plain tensors only; --unsafe-pickle
    allows arbitrary pickles, for trusted files that hold a whole nn.Module);
  * takes the state dict from a dict of tensors, from checkpoint['state_dict'] or
    checkpoint['model'], or from an nn.Module's .state_dict();
  * strips a 'module.' prefix present on every key (nn.DataParallel checkpoints);
  * renames torchvision's old DenseNet keys ('...denselayer1.norm.1.weight' ->
    '...denselayer1.norm1.weight'), with the pattern torchvision's own loader uses;
  * writes "LOWT", u32 version 1, u32 header length, a JSON header
    {"tensors": [{name, dtype, shape, offset, bytes}], "metadata": {...}}, then each tensor's raw
    little-endian bytes (src/torch/serialize.ts reads it). float16 and bfloat16 become float32;
    bool is stored as float32 bytes under dtype "bool", as low-ts itself stores it.
"""
import argparse
import json
import os
import re
import struct
import sys

import torch

MAGIC = b"LOWT"
VERSION = 1

# torchvision/models/densenet.py, _load_state_dict: '.'s are no longer allowed in module names,
# but the DenseNet checkpoints in torchvision's model zoo have keys 'norm.1', 'conv.2', ...
OLD_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)

DTYPES = {
    torch.float32: ("float32", torch.float32),
    torch.float64: ("float64", torch.float64),
    torch.float16: ("float32", torch.float32),
    torch.bfloat16: ("float32", torch.float32),
    torch.int64: ("int64", torch.int64),
    torch.int32: ("int32", torch.int32),
    torch.int16: ("int16", torch.int16),
    torch.int8: ("int8", torch.int8),
    torch.uint8: ("uint8", torch.uint8),
    torch.bool: ("bool", torch.float32),
}


def load_state_dict(path, unsafe_pickle=False):
    """The state dict (name -> tensor) held by a .pth file."""
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: no such file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not unsafe_pickle)
    except TypeError:  # a torch without weights_only (before 1.13)
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # weights_only refuses pickled classes (a whole nn.Module, custom objects)
        if unsafe_pickle:
            raise
        raise SystemExit(f"{path}: torch.load(weights_only=True) failed ({e}); if the file is trusted and holds "
                         "more than tensors (e.g. a whole nn.Module), rerun with --unsafe-pickle")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, dict) and inner and all(torch.is_tensor(v) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, dict):
        raise SystemExit(f"{path}: expected a state dict (a dict of tensors), found {type(obj).__name__}")
    bad = [k for k, v in obj.items() if not torch.is_tensor(v)]
    if bad:
        raise SystemExit(f"{path}: not a state dict: non-tensor entries {bad[:8]}")
    return dict(obj)


def normalise_names(state):
    """Strips a DataParallel 'module.' prefix and renames old torchvision DenseNet keys."""
    notes = []
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
        notes.append("stripped 'module.' prefix")
    renamed = 0
    out = {}
    for key, value in state.items():
        m = OLD_DENSENET_KEY.match(key)
        if m:
            key = m.group(1) + m.group(2)
            renamed += 1
        if key in out:
            raise SystemExit(f"two entries map to the name '{key}'")
        out[key] = value
    if renamed:
        notes.append(f"renamed {renamed} old DenseNet keys (norm.1 -> norm1, ...)")
    return out, notes


def write_lowt(path, state, metadata):
    entries = []
    blobs = []
    offset = 0
    for name, t in state.items():
        if t.dtype not in DTYPES:
            raise SystemExit(f"tensor '{name}': dtype {t.dtype} is not supported by low-ts")
        dtype_name, stored = DTYPES[t.dtype]
        a = t.detach().to("cpu").to(stored).contiguous().numpy()
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        entries.append({"name": name, "dtype": dtype_name, "shape": list(t.shape), "offset": offset, "bytes": len(data)})
        blobs.append(data)
        offset += len(data)
    header = json.dumps({"tensors": entries, "metadata": metadata}).encode("utf-8")
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<II", VERSION, len(header)))
        f.write(header)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return offset


def convert(src, dst, unsafe_pickle=False):
    state, notes = normalise_names(load_state_dict(src, unsafe_pickle))
    metadata = {
        "source": os.path.basename(src),
        "converter": "low-ts scripts/convert-torchvision-weights.py",
        "torch": torch.__version__,
        "notes": notes,
    }
    nbytes = write_lowt(dst, state, metadata)
    return len(state), nbytes, notes


def main(argv=None):
    p = argparse.ArgumentParser(description="Convert a PyTorch/torchvision state dict (.pth) to a low-ts tensor file.")
    p.add_argument("input", help="the .pth file (a state dict saved with torch.save)")
    p.add_argument("output", help="the low-ts tensor file to write")
    p.add_argument("--unsafe-pickle", action="store_true", help="allow arbitrary pickled objects (trusted files only)")
    args = p.parse_args(argv)
    count, nbytes, notes = convert(args.input, args.output, args.unsafe_pickle)
    extra = f" ({'; '.join(notes)})" if notes else ""
    print(f"{args.output}: {count} tensors, {nbytes} bytes of data{extra}")


if __name__ == "__main__":
    sys.exit(main())
