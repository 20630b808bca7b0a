"""PyTorch side of `low bench dist`: the same data-parallel training step in PyTorch's own
DistributedDataParallel (Gloo, its default 25 MB buckets, all-reduce overlapped with backward), or
the plain model in one process when WORLD_SIZE is 1 or unset.

    RANK=r WORLD_SIZE=n MASTER_ADDR=127.0.0.1 MASTER_PORT=p torch_ddp.py MODEL BATCH STEPS THREADS

BATCH is the global batch: each of the n ranks trains BATCH/n samples of a fixed random batch
(forward, cross-entropy, backward, SGD with Nesterov momentum 0.9 and weight decay 1e-4). Rank 0
prints one JSON line, {"ms": median step milliseconds}, after two warm-up steps.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models  # noqa: E402

name, batch, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
torch.set_num_threads(threads)
torch.manual_seed(0)

size = 28 if name == "lenet5" else 32
model, channels = reference_models.zoo_model(name, 10, size)
model.train()
if world > 1:
    dist.init_process_group("gloo", rank=rank, world_size=world)
    model = torch.nn.parallel.DistributedDataParallel(model)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
part = batch // world
x = torch.randn(part, channels, size, size)
y = torch.randint(0, 10, (part,))

times = []
for i in range(steps + 2):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    opt.step()
    if i >= 2:  # the first steps allocate and pick kernels
        times.append((time.perf_counter() - t0) * 1000)
if rank == 0:
    print(json.dumps({"ms": statistics.median(times)}), flush=True)
if world > 1:
    dist.destroy_process_group()
