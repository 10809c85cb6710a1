"""The subcommands that need no service: ``run`` (train a spec here) and ``spec`` (examples).

::

    gradatlas run SPEC.json --out DIR [--quiet]
    gradatlas spec --list | --example NAME | --schema
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from gradatlas.cli import report
from gradatlas.cli.command import EXIT_FAILED, EXIT_OK, Subcommand, UsageError

if TYPE_CHECKING:
    from pydantic import ValidationError

    from core.result import Progress, ResultDict
    from core.spec import ExperimentSpec


# ---------------------------------------------------------------- spec input


def format_validation_error(exc: ValidationError) -> list[str]:
    """One line per bad field, each starting with the field's dotted path."""
    from core.errors import field_errors

    errors = exc.errors(include_url=False)
    if any(e["type"] == "json_invalid" for e in errors):  # a file, not a request body
        return [f"spec: {e['msg']}" for e in errors]
    return [f"{e.field}: {e.message}" for e in field_errors(errors)]


def read_spec(source: str, stdin: TextIO | None = None) -> ExperimentSpec:
    """Parse and validate a spec file, or standard input when ``source`` is ``-``."""
    from pydantic import ValidationError

    from core.spec import ExperimentSpec

    try:
        if source == "-":
            text = (stdin or sys.stdin).read()
        else:
            text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read spec {source}: {exc.strerror or exc}") from exc
    try:
        return ExperimentSpec.model_validate_json(text)
    except ValidationError as exc:
        problems = "\n".join(f"  {line}" for line in format_validation_error(exc))
        raise UsageError(f"invalid spec {source}:\n{problems}") from exc


# ---------------------------------------------------------------- gradatlas run


class GracefulInterrupt:
    """First Ctrl-C asks the run to stop after this step (and still save); the second aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step (Ctrl-C again to abort)", file=sys.stderr)

    def __enter__(self) -> GracefulInterrupt:
        # Signal handlers can only be set from the main thread.
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self)
            self._installed = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC.json", help="experiment spec file, or - for stdin")
    p.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="where result.json/.npz go"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")


def _run(args: argparse.Namespace) -> int:
    spec = read_spec(args.spec)
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out}: {exc.strerror or exc}") from exc

    # The engine (NumPy) loads only for a run, not for `gradatlas spec` or --help.
    from core.errors import GradatlasError
    from core.result_io import save_json, save_npz
    from core.train import train

    total = spec.total_steps
    with report.ProgressBar("step", disable=args.quiet) as bar, GracefulInterrupt() as interrupt:
        bar.show(spec.name, 0, total)

        def on_progress(progress: Progress, partial: Callable[[], ResultDict]) -> None:
            bar.show(spec.name, progress.step, total, epoch=progress.epoch)

        try:
            run = train(spec, on_progress=on_progress, should_stop=lambda: interrupt.requested)
        except GradatlasError as exc:
            bar.close()
            print(f"gradatlas: run failed: {exc}", file=sys.stderr)
            return EXIT_FAILED

    (out / "spec.json").write_text(spec.model_dump_json(indent=2) + "\n", encoding="utf-8")
    # JSON once, for result.json and the report; the .npz straight from the arrays.
    result = run.to_json()
    save_json(result, out / "result.json")
    save_npz(run, out / "result.npz")
    if not args.quiet:
        lines = report.run_lines(
            spec.name, result["summary"], result["diagnosis"], spec.model.depth
        )
        print("\n".join(lines))
        print(f"  wrote {out / 'result.json'} and {out / 'result.npz'}")
    return EXIT_OK


# ---------------------------------------------------------------- gradatlas spec


def _add_spec_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--example", metavar="NAME", help="print the example spec NAME")
    which.add_argument("--list", action="store_true", help="list the example specs")
    which.add_argument("--schema", action="store_true", help="print the spec's JSON schema")


def _known_examples() -> str:
    from gradatlas import examples

    width = max(len(n) for n in examples.names())
    return "\n".join(
        f"{name:<{width}}  {examples.DESCRIPTIONS.get(name, '')}".rstrip()
        for name in examples.names()
    )


def _spec(args: argparse.Namespace) -> int:
    from gradatlas import examples

    if args.list:
        print(_known_examples())
    elif args.schema:
        import json

        from core.spec import ExperimentSpec

        print(json.dumps(ExperimentSpec.model_json_schema(), indent=2))
    else:
        try:
            text = examples.read_text(args.example)
        except KeyError:
            raise UsageError(
                f"no example named {args.example!r}; the examples are:\n{_known_examples()}"
            ) from None
        print(text, end="" if text.endswith("\n") else "\n")
    return EXIT_OK


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "run",
        "train a spec here, write DIR/result.json and DIR/result.npz",
        _add_run_arguments,
        _run,
    ),
    Subcommand("spec", "print, list or describe example specs", _add_spec_arguments, _spec),
]
