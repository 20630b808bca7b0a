"""PyTorch side of `low bench engine --model`: one training step of a model zoo architecture,
timed on request, as torch_lenet.py does for LeNet-5.

    torch_models.py MODEL BATCH SIZE CLASSES THREADS [TORCHSCRIPT_FILE]

MODEL is lenet5, wrn-28-2, densenet-bc, resnet18, densenet161 (torchvision's where it has the
model, the reference ports of reference_models.py otherwise) or torchscript (the file, loaded with
torch.jit.load). Reads {"steps": n} per line on stdin, answers {"ms": [...]}: forward,
cross-entropy, backward, SGD step (Nesterov momentum 0.9, weight decay 1e-4) on a fixed random batch.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models  # noqa: E402
import timed_steps  # noqa: E402

name, batch, size, classes, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(0)

if name == "torchscript":
    model = torch.jit.load(sys.argv[6])
    channels = int(os.environ.get("LOW_BENCH_CHANNELS", "1"))
else:
    model, channels = reference_models.zoo_model(name, classes, size)

model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
x = torch.randn(batch, channels, size, size)
y = torch.randint(0, classes, (batch,))


def step():
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    opt.step()


timed_steps.serve(lambda command: step())
