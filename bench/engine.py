"""Benchmark: the engine's training step, with statistics recorded every step, vs PyTorch.

    make bench      # installs torch==2.13.0 (CPU) and threadpoolctl, then runs this
    .venv/bin/pip install -c requirements/dev.txt -e '.[bench]'   # that install, by hand
    .venv/bin/python bench/engine.py [--rounds 7] [--only a,b]

One thread for NumPy's BLAS and for PyTorch; OpenBLAS chooses its own kernel
(OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for this process: the script
re-executes itself without them). Steps of every engine are timed in interleaved
rounds on the same batch and the medians are compared, so machine noise hits
all of them alike. Prints a table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

_PINNED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(k in os.environ for k in _PINNED) and not os.environ.get("_GRADATLAS_BENCH_CHILD"):
    env = {k: v for k, v in os.environ.items() if k not in _PINNED}
    env["_GRADATLAS_BENCH_CHILD"] = "1"
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import itertools  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from core.spec import ExperimentSpec  # noqa: E402
from core.train import Run  # noqa: E402


@dataclass(frozen=True)
class Case:
    key: str
    depth: int
    width: int
    batch: int
    activation: str
    batch_norm: bool = False
    residual: bool = False


CASES = [
    Case("a", 10, 256, 128, "relu"),
    Case("b", 50, 128, 64, "sigmoid"),
    Case("c", 20, 512, 256, "tanh", batch_norm=True),
    Case("d", 20, 256, 128, "relu", residual=True),
    Case("tiny", 50, 16, 8, "relu"),
]
FEATURES, CLASSES = 64, 10


def spec_of(case: Case, every_steps: int) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "seed": 0,
            "model": {
                "depth": case.depth,
                "width": case.width,
                "activation": case.activation,
                "init": "he_normal" if case.activation == "relu" else "xavier_normal",
                "batch_norm": case.batch_norm,
                "residual": case.residual,
            },
            "data": {
                "dataset": "gaussian",
                "n_features": FEATURES,
                "n_classes": CLASSES,
                "n_samples": case.batch * 2,
                "val_fraction": 0.5,
            },
            "training": {
                "optimizer": "sgd",
                "learning_rate": 1e-3,
                "batch_size": case.batch,
                "epochs": 10,
            },
            "recording": {"every_steps": every_steps},
        }
    )


def numpy_step(case: Case, record: bool) -> Callable[[], None]:
    """The engine's real training step; with ``record``, statistics at every step."""
    run = Run(spec_of(case, 1 if record else 10**9))
    x = run.data.x_train[: case.batch].copy()
    y = run.data.y_train[: case.batch].copy()
    run.train_step(x, y)  # step 0 is always recorded; it also allocates the workspace
    rec = run.recorder
    capacity = rec.values["grad_norm"].shape[0]
    if record:
        rec.planned = _Always()

    def step() -> None:
        if len(rec.steps) >= capacity - 1:
            rec.steps.clear()  # reuse the rows: the benchmark runs more steps than planned
        run.train_step(x, y)

    return step


class _Always(set[int]):
    def __contains__(self, item: object) -> bool:
        return True


class _Residual(torch.nn.Module):
    def __init__(self, body: torch.nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = x + self.body(x)
        return out


def torch_step(case: Case) -> Callable[[], None]:
    torch.manual_seed(0)
    act = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[
        case.activation
    ]

    def hidden(n_in: int) -> list[torch.nn.Module]:
        mods: list[torch.nn.Module] = [torch.nn.Linear(n_in, case.width)]
        if case.batch_norm:
            mods.append(torch.nn.BatchNorm1d(case.width))
        mods.append(act())
        return mods

    layers: list[torch.nn.Module] = hidden(FEATURES)
    if case.residual:
        rest = list(range(1, case.depth))
        for i in range(0, len(rest), 2):
            body = [m for _ in rest[i : i + 2] for m in hidden(case.width)]
            layers.append(_Residual(torch.nn.Sequential(*body)))
    else:
        for _ in range(case.depth - 1):
            layers.extend(hidden(case.width))
    layers.append(torch.nn.Linear(case.width, CLASSES))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(case.batch, FEATURES)
    y = torch.randint(0, CLASSES, (case.batch,))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step


def matmul_flops(case: Case) -> float:
    """Multiply-add flops of one step's matrix products (forward, dW, dX)."""
    dims = [FEATURES, *[case.width] * case.depth, CLASSES]
    total = 0.0
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        total += 2 * case.batch * a * b * (2 if i == 0 else 3)
    return total


def peak_gflops(n: int = 1024, repeats: int = 7) -> float:
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = min(_time(lambda: np.matmul(a, b, out=out), 3) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _time(fn: Callable[[], object], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.25, help="per engine per round")
    parser.add_argument("--only", default="", help="comma-separated case keys")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        blas = [
            f"{i['internal_api']} {i.get('version')} kernel={i.get('architecture')} "
            f"threads={i['num_threads']}"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ]
        print("BLAS:", "; ".join(blas), "| torch threads:", torch.get_num_threads())
        print("numpy", np.__version__, "torch", torch.__version__)
        peak = peak_gflops()
        print(f"1-thread float32 matmul peak (1024^3 sgemm): {peak:.1f} GFLOP/s\n")
        print(
            f"{'case':5} {'net':32} {'torch ms':>9} {'ours ms':>8} {'bare ms':>8} "
            f"{'ours/torch':>10} {'stats %':>8} {'% peak':>7}"
        )
        only = set(filter(None, args.only.split(",")))
        for case in CASES:
            if only and case.key not in only:
                continue
            engines = {
                "torch": torch_step(case),
                "ours": numpy_step(case, record=True),
                "bare": numpy_step(case, record=False),
            }
            for fn in engines.values():
                for _ in range(3):
                    fn()
            per_step = {k: _calibrate(fn, args.seconds) for k, fn in engines.items()}
            times: dict[str, list[float]] = {k: [] for k in engines}
            for _ in range(args.rounds):
                for k, fn in engines.items():
                    times[k].append(_time(fn, per_step[k]))
            med = {k: statistics.median(v) for k, v in times.items()}
            net = (
                f"d{case.depth} w{case.width} b{case.batch} {case.activation}"
                + (" +bn" if case.batch_norm else "")
                + (" +res" if case.residual else "")
            )
            eff = matmul_flops(case) / med["ours"] / 1e9 / peak * 100
            print(
                f"{case.key:5} {net:32} {med['torch'] * 1e3:9.3f} {med['ours'] * 1e3:8.3f} "
                f"{med['bare'] * 1e3:8.3f} {med['ours'] / med['torch']:10.3f} "
                f"{(med['ours'] / med['bare'] - 1) * 100:8.1f} {eff:7.1f}"
            )


def _calibrate(fn: Callable[[], None], seconds: float) -> int:
    t = _time(fn, 3)
    return max(3, int(seconds / t))


if __name__ == "__main__":
    main()
