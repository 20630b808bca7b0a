#!/usr/bin/python3
"""CVXOPT side of `low bench solver`: LOW's weight QP solved the way the authors' released code
(LOW.py, compute_weights) solves it, timed on inputs sent by the TypeScript benchmark.

Run with Debian's /usr/bin/python3 (python3-cvxopt). Reads one JSON object on stdin:
    {"cases": [{"M": 256, "lambda": 0.1, "g2": [...]}, ...], "repeats": 25, "budget_s": 10}
and writes one JSON object on stdout with, per case, the weights and the median times.

The QP, as LOW.py builds it (g2 = squared gradient norms, sz = M):
    P = 2 * lambda * I        (dense M x M, as np.identity gives it)
    q = -(g2 + lambda)
    G = -I (sparse), h = 0    i.e. w >= 0
    A = 1^T, b = M            i.e. sum w = M
    minimise 1/2 w'Pw + q'w = lambda ||w||^2 - (g2 + lambda).w
Eq. (9) negated is lambda ||w||^2 - (g2 + 2 lambda).w + lambda M. The released q has lambda where
the expansion has 2 lambda; the difference, lambda 1.w = lambda M, is constant on the feasible
set, so both have the same minimiser. `q_check` below solves the eq. (9) form too, to show it.
"""
import json
import os
import sys
import time

try:
    import numpy as np
    import cvxopt
    from cvxopt import matrix, spdiag, solvers
except ImportError as exc:  # the caller turns this into install instructions
    json.dump({"error": f"cannot import cvxopt/numpy with {sys.executable}: {exc}"}, sys.stdout)
    sys.exit(3)


def build(g2, lamb, q_form="released"):
    """The matrices exactly as LOW.py's compute_weights builds them (q_form 'eq9': -(g2 + 2 lambda))."""
    sz = len(g2)
    aux = -(g2 + (2 * lamb if q_form == "eq9" else lamb))
    P = 2 * matrix(lamb * np.identity(sz))
    q = matrix(aux.astype(np.double))
    A = spdiag(matrix(-1.0, (1, sz)))
    b = matrix(0.0, (sz, 1))
    Aeq = matrix(1.0, (1, sz))
    beq = matrix(1.0 * sz)
    return P, q, A, b, Aeq, beq


def configure():
    solvers.options["show_progress"] = False
    solvers.options["maxiters"] = 20
    solvers.options["abstol"] = 1e-4
    solvers.options["reltol"] = 1e-4
    solvers.options["feastol"] = 1e-4


def run_once(g2, lamb):
    t0 = time.perf_counter()
    args = build(g2, lamb)
    t1 = time.perf_counter()
    sol = solvers.qp(*args)
    t2 = time.perf_counter()
    return sol, (t2 - t1) * 1e6, (t2 - t0) * 1e6


def main():
    request = json.load(sys.stdin)
    repeats = max(1, int(request.get("repeats", 25)))
    budget_s = float(request.get("budget_s", 10))
    configure()
    results = []
    for case in request["cases"]:
        g2 = np.asarray(case["g2"], dtype=np.double)
        lamb = float(case["lambda"])
        solve_us, call_us = [], []
        start = time.perf_counter()
        sol, s_us, c_us = run_once(g2, lamb)
        # A first call that is quick is a warm-up (caches, allocator); a slow one is representative
        # and the budget may not allow another.
        if c_us >= 1e6:
            solve_us.append(s_us)
            call_us.append(c_us)
        while len(solve_us) < repeats and (not solve_us or time.perf_counter() - start < budget_s):
            sol, s_us, c_us = run_once(g2, lamb)
            solve_us.append(s_us)
            call_us.append(c_us)
        w = np.array(sol["x"]).ravel()
        entry = {
            "M": len(g2),
            "lambda": lamb,
            "weights": w.tolist(),
            "solve_us": float(np.median(solve_us)),
            "call_us": float(np.median(call_us)),
            "runs": len(solve_us),
            "status": sol["status"],
            "iterations": int(sol["iterations"]),
            # Primal minus dual objective bounds how far CVXOPT's objective is from the optimum.
            "objective_gap": float(sol["primal objective"] - sol["dual objective"]),
            "primal_infeasibility": float(sol["primal infeasibility"]),
        }
        if len(g2) <= 1024:
            sol9 = solvers.qp(*build(g2, lamb, "eq9"))
            entry["q_check_max_diff"] = float(np.max(np.abs(np.array(sol9["x"]).ravel() - w)))
        results.append(entry)
    json.dump(
        {
            "python": sys.executable,
            "cvxopt_version": cvxopt.__version__,
            "numpy_version": np.__version__,
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "default",
            "results": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
