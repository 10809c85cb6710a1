"""What every ``gradatlas`` subcommand is: a name, its arguments and a function to an exit status.

Exit statuses, for every subcommand: 0 done (a diverged run is a result, so it
is 0 too), 1 the run (or a child of the sweep) failed or was cancelled, 2 bad
input (a bad spec or file, bad arguments, an unknown name, any 4xx answer), 3
the service is unreachable or answered 5xx, 124 ``--timeout`` ran out, 130
interrupted.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Subcommand:
    """One subcommand. ``run`` imports what is heavy (NumPy, the engine, httpx) itself,
    so the other subcommands stay quick to start."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad input from the user (arguments, a file): printed without a traceback, exit 2."""
