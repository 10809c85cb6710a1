"""The ``gradatlas`` subcommands that talk to a running service over HTTP.

::

    gradatlas submit SPEC.json [--wait] [--name NAME]    gradatlas status ID [--json]
    gradatlas wait ID [--timeout S]                      gradatlas list [--status S] [--limit N]
    gradatlas cancel ID                                  gradatlas stats ID --out FILE.json
    gradatlas remedy ID K [--wait]                       gradatlas sweep SWEEP.json [--wait]

(``gradatlas plot ID NAME --out FILE`` is in ``gradatlas.cli.plot``: it also draws a
local ``result.json``.)

Each takes ``--url`` (default ``$GRADATLAS_URL``, else http://127.0.0.1:8000). A
new id is the first line on stdout, so ``id=$(gradatlas submit spec.json)``
works; progress bars and errors go to stderr. Exit statuses: 0 done, 1 the
experiment (or a child of the sweep) failed or was cancelled, 2 a bad input or
any 4xx answer (printed as ``ERROR <status> <title>: <detail>`` and one line per
bad field), 3 the service is unreachable or answered 5xx, 124 ``--timeout`` ran out.

The spec is validated by the server, not here: it alone knows its limits
(``GRADATLAS_MAX_DEPTH`` ...), and a 422 names every bad field.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from gradatlas.cli import report
from gradatlas.cli.command import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    Subcommand,
    UsageError,
)
from gradatlas.config import DEFAULT_URL, URL_ENV, service_url
from gradatlas.types import FINAL, Status

if TYPE_CHECKING:
    from gradatlas.client import Client
    from gradatlas.types import Experiment, Sweep

POLL_S = 0.5
STATUSES: tuple[Status, ...] = get_args(Status)


# ---------------------------------------------------------------- plumbing


def connected(
    run: Callable[[argparse.Namespace, Client], int],
) -> Callable[[argparse.Namespace], int]:
    """``run`` with a client for ``--url``, and every failure turned into a line and a status."""

    def handler(args: argparse.Namespace) -> int:
        # httpx loads only for the service subcommands, not for `gradatlas run` or `spec`.
        from gradatlas.client import Client
        from gradatlas.errors import ApiError, InvalidURL, ServerError, TransportError, WaitTimeout

        url = service_url(args.url)
        try:
            with Client(url) as api:
                return run(args, api)
        except ApiError as exc:
            print("\n".join(report.problem_lines(exc)), file=sys.stderr)
            return EXIT_UNAVAILABLE if isinstance(exc, ServerError) else EXIT_USAGE
        except InvalidURL as exc:
            print(f"ERROR bad --url {url!r}: {exc.__cause__ or exc}", file=sys.stderr)
            return EXIT_USAGE
        except TransportError as exc:
            print(
                f"ERROR cannot reach the service at {url}: {exc.__cause__ or exc}", file=sys.stderr
            )
            print("is the service running? `make run`", file=sys.stderr)
            return EXIT_UNAVAILABLE
        except WaitTimeout as exc:
            print(f"gradatlas: {exc}", file=sys.stderr)
            return EXIT_TIMEOUT

    return handler


def read_json(source: str) -> dict[str, Any]:
    """A JSON object from a file, or from standard input when ``source`` is ``-``."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{source} is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise UsageError(f"{source} must hold a JSON object, not {type(body).__name__}")
    return body


def write_out(out: str, data: bytes) -> None:
    """Write to a file, or to standard output when ``out`` is ``-``."""
    if out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    print(f"wrote {out} ({len(data)} bytes)")


def _timeout(args: argparse.Namespace) -> float:
    return math.inf if args.timeout is None else float(args.timeout)


def watch(api: Client, exp_id: str, timeout: float) -> Experiment:
    """Poll until the experiment is final, a progress bar of its steps on stderr meanwhile."""
    with report.ProgressBar("step") as bar:

        def on_progress(exp: Experiment) -> None:
            p = exp["progress"]
            bar.show(exp["status"], p["step"], p["total_steps"], epoch=p["epoch"])

        try:
            return api.wait(exp_id, timeout=timeout, poll_s=POLL_S, on_progress=on_progress)
        except KeyboardInterrupt:
            bar.close()
            hint = f"`gradatlas cancel {exp_id}` stops it"
            print(f"\n{exp_id} is still {bar.label} on the service; {hint}", file=sys.stderr)
            raise


def watch_sweep(api: Client, sweep_id: str, timeout: float) -> Sweep:
    """Poll until the sweep is final, a progress bar of its finished children meanwhile."""
    with report.ProgressBar("run") as bar:

        def on_progress(sweep: Sweep) -> None:
            rows = sweep["children"]
            bar.show(sweep["status"], sum(r["status"] in FINAL for r in rows), len(rows))

        try:
            return api.wait_sweep(sweep_id, timeout=timeout, poll_s=POLL_S, on_progress=on_progress)
        except KeyboardInterrupt:
            bar.close()
            print(f"\nsweep {sweep_id} keeps running on the service", file=sys.stderr)
            raise


def follow(api: Client, exp_id: str, timeout: float) -> int:
    """Follow an experiment with a progress bar, print its report; its exit status."""
    exp = watch(api, exp_id, timeout)
    print("\n".join(report.experiment_lines(exp)))
    return EXIT_OK if exp["status"] == "succeeded" else EXIT_FAILED


def follow_sweep(api: Client, sweep_id: str, timeout: float) -> int:
    """Follow a sweep with a progress bar, print its table; its exit status."""
    sweep = watch_sweep(api, sweep_id, timeout)
    print("\n".join(report.sweep_lines(sweep)))
    return EXIT_OK if sweep["status"] == "succeeded" else EXIT_FAILED


# ---------------------------------------------------------------- the subcommands


@connected
def _submit(args: argparse.Namespace, api: Client) -> int:
    body = read_json(args.spec)
    if args.name is not None:
        body["name"] = args.name
    exp = api.submit(body)
    print(exp["id"], flush=True)
    return follow(api, exp["id"], _timeout(args)) if args.wait else EXIT_OK


@connected
def _status(args: argparse.Namespace, api: Client) -> int:
    exp = api.get(args.id)
    print(json.dumps(exp, indent=2) if args.json else "\n".join(report.status_lines(exp)))
    return EXIT_OK


@connected
def _wait(args: argparse.Namespace, api: Client) -> int:
    return follow(api, args.id, _timeout(args))


@connected
def _list(args: argparse.Namespace, api: Client) -> int:
    page = api.list(status=args.status, limit=args.limit, cursor=args.cursor)
    if args.json:
        print(json.dumps(page, indent=2))
        return EXIT_OK
    print("\n".join(report.list_lines(page["items"])))
    if page["next_cursor"]:
        print(f"more: gradatlas list --cursor {page['next_cursor']}", file=sys.stderr)
    return EXIT_OK


@connected
def _cancel(args: argparse.Namespace, api: Client) -> int:
    exp = api.cancel(args.id)
    state = "cancelled" if exp["status"] == "cancelled" else "stopping (within about a second)"
    print(f"{exp['id']} {state}")
    return EXIT_OK


@connected
def _stats(args: argparse.Namespace, api: Client) -> int:
    write_out(args.out, (json.dumps(api.stats(args.id)) + "\n").encode())
    return EXIT_OK


@connected
def _remedy(args: argparse.Namespace, api: Client) -> int:
    exp = api.remedy(args.id, args.k)
    print(exp["id"], flush=True)
    return follow(api, exp["id"], _timeout(args)) if args.wait else EXIT_OK


@connected
def _sweep(args: argparse.Namespace, api: Client) -> int:
    sweep = api.submit_sweep(read_json(args.sweep))
    print(sweep["id"], flush=True)
    return follow_sweep(api, sweep["id"], _timeout(args)) if args.wait else EXIT_OK


# ---------------------------------------------------------------- arguments

Adder = Callable[[argparse.ArgumentParser], None]


def _args(
    *positional: tuple[str, str],
    wait: bool = False,
    timeout: bool = False,
    extra: Adder | None = None,
) -> Adder:
    """Positional ``(metavar, help)`` arguments, ``extra``, the wait options and ``--url``."""

    def add(p: argparse.ArgumentParser) -> None:
        for metavar, help_ in positional:
            dest = metavar.split(".")[0].lower()
            p.add_argument(dest, metavar=metavar, help=help_, type=int if dest == "k" else str)
        if extra is not None:
            extra(p)
        if wait:
            p.add_argument(
                "--wait",
                action="store_true",
                help="follow it to the end (exit 1 unless it succeeded)",
            )
        if wait or timeout:
            p.add_argument(
                "--timeout", type=float, metavar="S", help="stop waiting after S seconds (exit 124)"
            )
        p.add_argument("--url", help=f"the service (default: ${URL_ENV}, else {DEFAULT_URL})")

    return add


def _name(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="the name to give it, instead of the spec's")


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the server's JSON answer")


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", choices=STATUSES, help="only experiments in this status")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N (1-100; 20)")
    p.add_argument("--cursor", help="the next page, from the cursor the previous one printed")
    _json_flag(p)


def _out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="FILE", help="where to write it (- for stdout)")


ID = ("ID", "an experiment id")
SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "submit",
        "queue a spec on the service; print its id",
        _args(
            ("SPEC.json", "experiment spec file, or - for stdin"),
            wait=True,
            extra=_name,
        ),
        _submit,
    ),
    Subcommand("status", "where an experiment stands", _args(ID, extra=_json_flag), _status),
    Subcommand("wait", "follow an experiment until it ends", _args(ID, timeout=True), _wait),
    Subcommand("list", "experiments, newest first", _args(extra=_list_args), _list),
    Subcommand("cancel", "stop a queued or running experiment", _args(ID), _cancel),
    Subcommand("stats", "save an experiment's statistics (JSON)", _args(ID, extra=_out), _stats),
    Subcommand(
        "remedy",
        "run remedy K of a finished experiment's diagnosis; print the new id",
        _args(ID, ("K", "which remedy of its diagnosis, from 0"), wait=True),
        _remedy,
    ),
    Subcommand(
        "sweep",
        "start a sweep (one experiment per grid point); print its id",
        _args(("SWEEP.json", '{"name", "base", "grid"} file, or - for stdin'), wait=True),
        _sweep,
    ),
]
