"""How many BLAS threads a process's NumPy runs: decided before NumPy is first imported.

A worker trains one experiment per process, and its processes already fill the cores;
the API computes predictions and figures in a thread pool, beside other requests. BLAS
threads on top of either only fight for the same cores: on this project's 2-core machine,
with the other core busy, a depth-100 batch-norm prediction took 4.3 s with OpenBLAS's
default 2 threads and 0.67 s with 1 (0.65 s either way when idle): many small products
and factorisations, each waiting for a thread that is not free.
"""

from __future__ import annotations

import os

#: The variables OpenBLAS, OpenMP and MKL read once, when NumPy loads them.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads(threads: int) -> None:
    """Ask for ``threads`` BLAS threads, unless the environment already says how many.

    Has an effect only before NumPy is first imported in this process.
    """
    for var in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(var, str(threads))
