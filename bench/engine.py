"""Benchmark: the engine's training step, with statistics recorded every step, vs PyTorch.

    make bench      # installs torch==2.13.0 (CPU) and threadpoolctl, then runs this
    .venv/bin/pip install -c requirements/dev.txt -e '.[bench]'   # that install, by hand
    .venv/bin/python bench/engine.py [--rounds 7] [--only a,b] [--threads 1]
    .venv/bin/python bench/engine.py --scaling c     # the same step on 1 and on 2 threads
    .venv/bin/python bench/engine.py --cost          # step time against depth, width, batch;
                                                     # experiments per hour for examples/*.json
    .venv/bin/python bench/engine.py --products      # the step's matrix products alone,
                                                     # NumPy (OpenBLAS) vs PyTorch

BLAS and PyTorch get ``--threads`` threads (default: GRADATLAS_BLAS_THREADS, else 1);
OpenBLAS chooses its own kernel: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset together
for this process (the script re-executes itself without them and prints what it unset).
Steps of every engine are timed in interleaved rounds on the same batch and the medians
are compared, so machine noise hits all of them alike. Engines: PyTorch bare, PyTorch
recording the same statistics through hooks (bench/torch_peer.py), ours with every
statistic at every step, ours recording nothing. Prints a table; nothing is asserted.
"""

from __future__ import annotations

import os
import sys

_PINNED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_CHILD = "_GRADATLAS_BENCH_UNSET"
if any(k in os.environ for k in _PINNED) and _CHILD not in os.environ:
    env = {k: v for k, v in os.environ.items() if k not in _PINNED}
    env[_CHILD] = " ".join(f"{k}={os.environ[k]}" for k in _PINNED if k in os.environ)
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse  # noqa: E402
import itertools  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from bench.cases import CASES, CLASSES, FEATURES, LR, Case  # noqa: E402
from bench.torch_peer import torch_step  # noqa: E402
from core.spec import ExperimentSpec  # noqa: E402
from core.train import Run, train  # noqa: E402


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
                "learning_rate": LR,
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


def medians(
    engines: dict[str, Callable[[], None]], rounds: int, seconds: float
) -> dict[str, float]:
    """Median seconds per step of each engine over interleaved rounds."""
    for fn in engines.values():
        for _ in range(3):
            fn()
    per_round = {k: max(3, int(seconds / _time(fn, 3))) for k, fn in engines.items()}
    times: dict[str, list[float]] = {k: [] for k in engines}
    for _ in range(rounds):
        for k, fn in engines.items():
            times[k].append(_time(fn, per_round[k]))
    return {k: statistics.median(v) for k, v in times.items()}


def _threads(n: int) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def step() -> None:
            with threadpool_limits(limits=n, user_api="blas"):
                torch.set_num_threads(n)
                fn()

        return step

    return wrap


def scaling(case: Case, args: argparse.Namespace) -> None:
    """The same experiment's step on 1 thread and on 2, interleaved (ours and PyTorch)."""
    one, two = _threads(1), _threads(2)
    engines = {
        "ours 1": one(numpy_step(case, record=True)),
        "ours 2": two(numpy_step(case, record=True)),
        "torch 1": one(torch_step(case)),
        "torch 2": two(torch_step(case)),
    }
    med = medians(engines, args.rounds, args.seconds)
    print(f"case {case.key} ({case.label}), ms per step, medians of {args.rounds} rounds:")
    for k, v in med.items():
        print(f"  {k} thread(s): {v * 1e3:8.3f}")
    print(
        f"  2 threads / 1 thread speed-up: ours {med['ours 1'] / med['ours 2']:.2f}x, "
        f"torch {med['torch 1'] / med['torch 2']:.2f}x"
    )


def products(case: Case, lib: str) -> Callable[[], None]:
    """The step's matrix products alone (forward x W, dW = x^T dz, dx = dz W^T; no dx for
    the first layer), on float32 buffers made once, in NumPy or in PyTorch."""
    dims = [FEATURES, *[case.width] * case.depth, CLASSES]
    rng = np.random.default_rng(0)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        x, w, dz = (
            rng.standard_normal(s).astype(np.float32)
            for s in ((case.batch, a), (a, b), (case.batch, b))
        )
        layers.append((i, x, w, dz, np.empty_like(dz), np.empty_like(w), np.empty_like(x)))
    if lib == "numpy":

        def step() -> None:
            for i, x, w, dz, z, dw, dx in layers:
                np.matmul(x, w, out=z)
                np.matmul(x.T, dz, out=dw)
                if i:
                    np.matmul(dz, w.T, out=dx)

        return step
    t = [(i, [torch.from_numpy(a) for a in arrays]) for i, *arrays in layers]

    def torch_products() -> None:
        for i, (x, w, dz, z, dw, dx) in t:
            torch.mm(x, w, out=z)
            torch.mm(x.T, dz, out=dw)
            if i:
                torch.mm(dz, w.T, out=dx)

    return torch_products


def selected(args: argparse.Namespace) -> list[Case]:
    """The cases ``--only`` names (all of them without it)."""
    only = set(filter(None, args.only.split(",")))
    return [case for case in CASES if not only or case.key in only]


def products_table(args: argparse.Namespace) -> None:
    """Per case: the products alone in NumPy and PyTorch, beside PyTorch's whole bare step."""
    print(
        f"{'case':5} {'net':24} {'np prod':>8} {'t prod':>8} {'torch':>8} {'np/t prod':>9} "
        f"{'np prod/torch':>13}"
    )
    for case in selected(args):
        med = medians(
            {
                "np": products(case, "numpy"),
                "t": products(case, "torch"),
                "torch": torch_step(case),
            },
            args.rounds,
            args.seconds,
        )
        print(
            f"{case.key:5} {case.label:24} {med['np'] * 1e3:8.3f} {med['t'] * 1e3:8.3f} "
            f"{med['torch'] * 1e3:8.3f} {med['np'] / med['t']:9.3f} "
            f"{med['np'] / med['torch']:13.3f}"
        )


#: The grid of the cost model: each row varies one of depth, width, batch around d20 w256 b128.
COST_GRID = [
    *(Case(f"d{d}", d, 256, 128, "relu") for d in (5, 10, 20, 40, 80)),
    *(Case(f"w{w}", 20, w, 128, "relu") for w in (64, 128, 256, 512, 1024)),
    *(Case(f"b{b}", 20, 256, b, "relu") for b in (16, 32, 64, 128, 256, 512)),
]


def cost(args: argparse.Namespace) -> None:
    """Step time (every statistic recorded, and bare) over the grid, then whole examples."""
    print(f"{'net':24} {'ours ms':>9} {'bare ms':>9} {'GFLOP':>7} {'GFLOP/s':>8} {'us/layer':>9}")
    for case in COST_GRID:
        med = medians(
            {"ours": numpy_step(case, record=True), "bare": numpy_step(case, record=False)},
            args.rounds,
            args.seconds,
        )
        flops = case.matmul_flops()
        print(
            f"{case.label:24} {med['ours'] * 1e3:9.3f} {med['bare'] * 1e3:9.3f} "
            f"{flops / 1e9:7.3f} {flops / med['ours'] / 1e9:8.1f} "
            f"{med['ours'] / (case.depth + 1) * 1e6:9.1f}"
        )
    print("\nexamples/*.json trained whole (core.train.train), 1 thread:")
    examples = sorted(Path(__file__).resolve().parents[1].joinpath("examples").glob("*.json"))
    for path in examples:
        spec = ExperimentSpec.model_validate_json(path.read_text())
        times = []
        for _ in range(max(1, args.rounds // 3)):
            t = time.perf_counter()
            train(spec)
            times.append(time.perf_counter() - t)
        sec = statistics.median(times)
        print(
            f"  {path.stem:26} {sec:7.2f} s  {spec.total_steps:6d} steps  "
            f"{3600 / sec:7.0f} experiments / hour / core"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.25, help="per engine per round")
    parser.add_argument("--only", default="", help="comma-separated case keys")
    default_threads = int(os.environ.get("GRADATLAS_BLAS_THREADS", "1"))
    parser.add_argument("--threads", type=int, default=default_threads)
    parser.add_argument("--scaling", default="", help="a case key: 1 vs 2 threads")
    parser.add_argument("--cost", action="store_true", help="the cost model's grid")
    parser.add_argument("--products", action="store_true", help="matrix products alone")
    args = parser.parse_args()
    unset = os.environ.get(_CHILD)
    print("unset for this process:", unset or f"nothing ({', '.join(_PINNED)} were not set)")
    torch.set_num_threads(args.threads)
    if args.scaling:
        scaling(next(c for c in CASES if c.key == args.scaling), args)
        return
    if args.cost or args.products:
        with threadpool_limits(limits=args.threads, user_api="blas"):
            (cost if args.cost else products_table)(args)
        return
    with threadpool_limits(limits=args.threads, user_api="blas"):
        blas = [
            f"{i['internal_api']} {i.get('version')} kernel={i.get('architecture')} "
            f"threads={i['num_threads']}"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ]
        print("BLAS:", "; ".join(blas), "| torch threads:", torch.get_num_threads())
        print("numpy", np.__version__, "torch", torch.__version__)
        peak = peak_gflops()
        print(f"float32 matmul peak (1024^3 sgemm, {args.threads} thread): {peak:.1f} GFLOP/s\n")
        print(
            f"{'case':5} {'net':24} {'torch':>8} {'t+stats':>8} {'ours':>8} {'bare':>8} "
            f"{'ours/t':>7} {'ours/t+s':>8} {'bare/t':>7} {'t stats%':>8} {'stats%':>7} "
            f"{'%peak':>6}"
        )
        for case in selected(args):
            engines = {
                "torch": torch_step(case),
                "torch_stats": torch_step(case, stats=True),
                "ours": numpy_step(case, record=True),
                "bare": numpy_step(case, record=False),
            }
            med = medians(engines, args.rounds, args.seconds)
            eff = case.matmul_flops() / med["ours"] / 1e9 / peak * 100
            print(
                f"{case.key:5} {case.label:24} {med['torch'] * 1e3:8.3f} "
                f"{med['torch_stats'] * 1e3:8.3f} {med['ours'] * 1e3:8.3f} "
                f"{med['bare'] * 1e3:8.3f} {med['ours'] / med['torch']:7.3f} "
                f"{med['ours'] / med['torch_stats']:8.3f} {med['bare'] / med['torch']:7.3f} "
                f"{(med['torch_stats'] / med['torch'] - 1) * 100:8.1f} "
                f"{(med['ours'] / med['bare'] - 1) * 100:7.1f} {eff:6.1f}"
            )


if __name__ == "__main__":
    main()
