"""The ``gradatlas`` subcommands that talk to a running service over HTTP.

::

    gradatlas submit SPEC.json [--wait] [--name NAME]    gradatlas status ID [--json]
    gradatlas wait ID [--timeout S]                      gradatlas list [--status S] [--limit N]
    gradatlas cancel ID                                  gradatlas stats ID --out FILE.json
    gradatlas plot ID NAME [--format png|svg] --out FILE gradatlas remedy ID K [--wait]
    gradatlas sweep SWEEP.json [--wait]

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
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gradatlas.cli import report

if TYPE_CHECKING:
    from gradatlas.client import ApiError, GradatlasClient, ImageFormat

DEFAULT_URL = "http://127.0.0.1:8000"
EXIT_OK, EXIT_FAILED, EXIT_BAD_REQUEST, EXIT_UNAVAILABLE, EXIT_TIMEOUT = 0, 1, 2, 3, 124
POLL_S = 0.5
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class ServiceCommand(NamedTuple):
    """The fields of ``cli.Subcommand``; cli.py wraps each (importing it here would cycle)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class InputError(Exception):
    """A local file that cannot be read or written: exit 2, no traceback."""


# ---------------------------------------------------------------- plumbing


def base_url(args: argparse.Namespace) -> str:
    # Read at run time, not parse time, and not through core.settings: those are the
    # server's settings, and a client must not fail on a server variable it never uses.
    return str(args.url or os.environ.get("GRADATLAS_URL") or DEFAULT_URL)


def problem_lines(exc: ApiError) -> list[str]:
    """``ERROR <status> <title>: <detail>`` and ``  field: message`` per bad field."""
    import httpx

    title = exc.problem.get("title") or httpx.codes.get_reason_phrase(exc.status) or "Error"
    lines = [f"ERROR {exc.status} {title}: {exc.detail}"]
    for err in exc.errors:
        lines.append(f"  {err.get('field', '?')}: {err.get('message', '')}")
    return lines


def connected(
    run: Callable[[argparse.Namespace, GradatlasClient], int],
) -> Callable[[argparse.Namespace], int]:
    """``run`` with a client for ``--url``, and every failure turned into a line and a status."""

    def handler(args: argparse.Namespace) -> int:
        # httpx loads only for the service subcommands, not for `gradatlas run` or `spec`.
        import httpx

        from gradatlas.client import ApiError, GradatlasClient

        url = base_url(args)
        try:
            with GradatlasClient(url) as api:
                return run(args, api)
        except ApiError as exc:
            print("\n".join(problem_lines(exc)), file=sys.stderr)
            return EXIT_BAD_REQUEST if exc.status < 500 else EXIT_UNAVAILABLE
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            print(f"ERROR bad --url {url!r}: {exc}", file=sys.stderr)
            return EXIT_BAD_REQUEST
        except httpx.TransportError as exc:
            print(f"ERROR cannot reach the service at {url}: {exc}", file=sys.stderr)
            print("is the service running? `make run`", file=sys.stderr)
            return EXIT_UNAVAILABLE
        except InputError as exc:
            print(f"gradatlas: {exc}", file=sys.stderr)
            return EXIT_BAD_REQUEST
        except TimeoutError as exc:
            print(f"gradatlas: {exc}", file=sys.stderr)
            return EXIT_TIMEOUT

    return handler


def read_json(source: str) -> dict[str, Any]:
    """A JSON object from a file, or from standard input when ``source`` is ``-``."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from exc
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{source} is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InputError(f"{source} must hold a JSON object, not {type(body).__name__}")
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
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    print(f"wrote {out} ({len(data)} bytes)")


def _timeout(args: argparse.Namespace) -> float:
    return math.inf if args.timeout is None else float(args.timeout)


def follow(api: GradatlasClient, exp_id: str, timeout: float) -> int:
    """Follow an experiment with a progress bar, print its report; its exit status."""
    exp = report.watch(api, exp_id, timeout, POLL_S)
    print("\n".join(report.experiment_lines(exp)))
    return EXIT_OK if exp["status"] == "succeeded" else EXIT_FAILED


def follow_sweep(api: GradatlasClient, sweep_id: str, timeout: float) -> int:
    """Follow a sweep with a progress bar, print its table; its exit status."""
    sweep = report.watch_sweep(api, sweep_id, timeout, POLL_S)
    print("\n".join(report.sweep_lines(sweep)))
    return EXIT_OK if sweep["status"] == "succeeded" else EXIT_FAILED


# ---------------------------------------------------------------- the subcommands


@connected
def _submit(args: argparse.Namespace, api: GradatlasClient) -> int:
    body = read_json(args.spec)
    if args.name is not None:
        body["name"] = args.name
    exp = api.submit(body)
    print(exp["id"], flush=True)
    return follow(api, exp["id"], _timeout(args)) if args.wait else EXIT_OK


@connected
def _status(args: argparse.Namespace, api: GradatlasClient) -> int:
    exp = api.get(args.id)
    print(json.dumps(exp, indent=2) if args.json else "\n".join(report.status_lines(exp)))
    return EXIT_OK


@connected
def _wait(args: argparse.Namespace, api: GradatlasClient) -> int:
    return follow(api, args.id, _timeout(args))


@connected
def _list(args: argparse.Namespace, api: GradatlasClient) -> int:
    page = api.list(status=args.status, limit=args.limit, cursor=args.cursor)
    if args.json:
        print(json.dumps(page, indent=2))
        return EXIT_OK
    print("\n".join(report.list_lines(page["items"])))
    if page["next_cursor"]:
        print(f"more: gradatlas list --cursor {page['next_cursor']}", file=sys.stderr)
    return EXIT_OK


@connected
def _cancel(args: argparse.Namespace, api: GradatlasClient) -> int:
    exp = api.cancel(args.id)
    state = "cancelled" if exp["status"] == "cancelled" else "stopping (within about a second)"
    print(f"{exp['id']} {state}")
    return EXIT_OK


@connected
def _stats(args: argparse.Namespace, api: GradatlasClient) -> int:
    write_out(args.out, (json.dumps(api.stats(args.id)) + "\n").encode())
    return EXIT_OK


@connected
def _plot(args: argparse.Namespace, api: GradatlasClient) -> int:
    fmt: ImageFormat = args.format or ("svg" if args.out.lower().endswith(".svg") else "png")
    write_out(args.out, api.plot(args.id, args.name, fmt))
    return EXIT_OK


@connected
def _remedy(args: argparse.Namespace, api: GradatlasClient) -> int:
    exp = api.remedy(args.id, args.k)
    print(exp["id"], flush=True)
    return follow(api, exp["id"], _timeout(args)) if args.wait else EXIT_OK


@connected
def _sweep(args: argparse.Namespace, api: GradatlasClient) -> int:
    sweep = api.submit_sweep(read_json(args.sweep))
    print(sweep["id"], flush=True)
    return follow_sweep(api, sweep["id"], _timeout(args)) if args.wait else EXIT_OK


# ---------------------------------------------------------------- arguments

Adder = Callable[[argparse.ArgumentParser], None]
_PLOTS = "gradient-profile, gradient-heatmap, training-curves, activations or update-ratio"


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
        p.add_argument("--url", help=f"the service (default: $GRADATLAS_URL, else {DEFAULT_URL})")

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


def _plot_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("png", "svg"), help="default: --out's suffix, else png")
    _out(p)


ID = ("ID", "an experiment id")
SERVICE_SUBCOMMANDS: list[ServiceCommand] = [
    ServiceCommand(
        "submit",
        "queue a spec on the service; print its id",
        _args(
            ("SPEC.json", "experiment spec file, or - for stdin"),
            wait=True,
            extra=_name,
        ),
        _submit,
    ),
    ServiceCommand("status", "where an experiment stands", _args(ID, extra=_json_flag), _status),
    ServiceCommand("wait", "follow an experiment until it ends", _args(ID, timeout=True), _wait),
    ServiceCommand("list", "experiments, newest first", _args(extra=_list_args), _list),
    ServiceCommand("cancel", "stop a queued or running experiment", _args(ID), _cancel),
    ServiceCommand(
        "stats", "save an experiment's statistics (JSON)", _args(ID, extra=_out), _stats
    ),
    ServiceCommand(
        "plot",
        "save a figure of an experiment",
        _args(ID, ("NAME", _PLOTS), extra=_plot_args),
        _plot,
    ),
    ServiceCommand(
        "remedy",
        "run remedy K of a finished experiment's diagnosis; print the new id",
        _args(ID, ("K", "which remedy of its diagnosis, from 0"), wait=True),
        _remedy,
    ),
    ServiceCommand(
        "sweep",
        "start a sweep (one experiment per grid point); print its id",
        _args(("SWEEP.json", '{"name", "base", "grid"} file, or - for stdin'), wait=True),
        _sweep,
    ),
]
