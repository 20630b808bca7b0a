"""The Python side's protocol for low-ts's benchmarks (src/bench/python.ts): print one "ready"
line, then for each JSON command read on stdin, {"steps": n, ...}, run `step(command)` n times
and answer one JSON line {"ms": [per-step milliseconds]}. The worker is started once per benchmark
so that both sides alternate in the same run, on the same machine state.
"""
import json
import sys
import time

import torch


def serve(step):
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        times = []
        for _ in range(command["steps"]):
            t0 = time.perf_counter()
            step(command)
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"ms": times}), flush=True)
