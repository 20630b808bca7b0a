"""PyTorch side of `low bench engine`: the same LeNet-5 training step, timed on request.

Reads one JSON command per line on stdin, {"mode": "ce" | "low-cvxopt", "steps": n}, and answers
one JSON line {"ms": [per-step milliseconds]}. Started once per benchmark so that both sides
alternate in the same run, on the same machine state.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timed_steps  # noqa: E402

threads = int(sys.argv[1])
batch = int(sys.argv[2])
torch.set_num_threads(threads)


class LeNet5(nn.Module):
    # As low-ts's LeNet5 and the LOW authors' code: conv-relu-pool x2, fc 400-120-84-10.
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def cvxopt_weights(g2, lam):
    # The released code's QP, solved as it solves it.
    import numpy as np
    from cvxopt import matrix, solvers

    m = len(g2)
    solvers.options.update({"show_progress": False, "maxiters": 20, "abstol": 1e-4, "reltol": 1e-4, "feastol": 1e-4})
    P = matrix(2 * lam * np.eye(m))
    q = matrix(-(np.asarray(g2, dtype=np.float64) + 2 * lam))
    G = matrix(-np.eye(m))
    h = matrix(np.zeros(m))
    A = matrix(np.ones((1, m)))
    b = matrix(float(m))
    return np.array(solvers.qp(P, q, G, h, A, b)["x"]).ravel()


torch.manual_seed(0)
model = LeNet5()
opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, nesterov=True, weight_decay=1e-4)
x = torch.randn(batch, 1, 28, 28)
y = torch.randint(0, 10, (batch,))


def step(mode):
    opt.zero_grad(set_to_none=True)
    logits = model(x)
    if mode == "ce":
        loss = F.cross_entropy(logits, y)
    else:
        per_sample = F.cross_entropy(logits, y, reduction="none")
        z = logits.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(z, y, reduction="none").sum(), z)
        g2 = g.pow(2).sum(1).numpy()
        w = torch.tensor(cvxopt_weights(g2, 0.1), dtype=per_sample.dtype)
        loss = (per_sample * w).mean()
    loss.backward()
    opt.step()


timed_steps.serve(lambda command: step(command["mode"]))
