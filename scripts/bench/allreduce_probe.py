"""PyTorch side of scripts/bench/allreduce-probe.ts: one rank of a Gloo group all-reducing N floats
`rounds` times, first with nothing else to do (idle), then each time after 10 matrix products of
[128, 512] x [512, 512] on one thread (after-compute), as a training step's all-reduce follows its
backward pass. Prints one JSON line per mode: median all-reduce and compute milliseconds.

    RANK=r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=p allreduce_probe.py N ROUNDS
"""
import json
import statistics
import sys
import time

import torch
import torch.distributed as dist

size, rounds = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(1)
dist.init_process_group("gloo")
t = torch.zeros(size)
a, b = torch.randn(128, 512), torch.randn(512, 512)
for mode in ("idle", "after-compute"):
    reduce_ms, compute_ms = [], []
    for _ in range(rounds):
        if mode == "after-compute":
            c0 = time.perf_counter()
            for _ in range(10):
                a.matmul(b)
            compute_ms.append((time.perf_counter() - c0) * 1000)
        t0 = time.perf_counter()
        dist.all_reduce(t)
        reduce_ms.append((time.perf_counter() - t0) * 1000)
    compute = statistics.median(compute_ms) if compute_ms else 0
    print(json.dumps({"mode": mode, "allReduceMs": statistics.median(reduce_ms), "computeMs": compute}), flush=True)
dist.destroy_process_group()
