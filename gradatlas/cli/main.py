"""The ``gradatlas`` command line.

Subcommands live in :data:`SUBCOMMANDS`; each one adds its own arguments and
returns an exit status. Exit statuses: 0 done (a diverged run is a result, so
it is 0 too), 1 the run failed, 2 a bad spec, bad arguments or an unknown name;
the service subcommands (``service_cli``: submit, status, wait, list, cancel,
stats, plot, remedy, sweep) add 3, the service is unreachable.

To add a subcommand, write a :class:`Subcommand` and append it to
:data:`SUBCOMMANDS`; import heavy modules inside its ``run`` so other
subcommands stay quick to start.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import ValidationError

from core.spec import ExperimentSpec
from gradatlas import examples
from gradatlas.cli.service import SERVICE_SUBCOMMANDS

if TYPE_CHECKING:
    from core.result import Progress, ResultDict, Summary

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad input from the user: printed without a traceback, exit 2."""


# ---------------------------------------------------------------- spec input


def format_validation_error(exc: ValidationError) -> list[str]:
    """One line per problem, each starting with the dotted path of the field."""
    lines = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(part) for part in err["loc"]) or "spec"
        msg = err["msg"].removeprefix("Value error, ")
        # A model validator already names the field ("data.n_classes: ..."), more exactly.
        lines.append(msg if msg.startswith(f"{where}.") else f"{where}: {msg}")
    return lines


def read_spec(source: str, stdin: TextIO | None = None) -> ExperimentSpec:
    """Parse and validate a spec file, or standard input when ``source`` is ``-``."""
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


def _fmt(value: float | None, spec: str = ".3g") -> str:
    return "n/a" if value is None else format(value, spec)


def _pow10(log10: float | None) -> str:
    return "n/a" if log10 is None else f"10^{log10:.2f}"


def summary_lines(spec: ExperimentSpec, result: ResultDict) -> list[str]:
    """A few lines a person reads after a run."""
    s: Summary = result["summary"]
    depth = spec.model.depth
    lines = [
        f"{spec.name}: {s['steps_run']}/{s['total_steps']} steps"
        + (" (stopped on request)" if s["stopped"] else ""),
        f"  step-0 gradient ratio, layer 0 / layer {depth - 1}:"
        f" {_pow10(s['gradient_ratio_log10'])} (weights),"
        f" {_pow10(s['backprop_ratio_log10'])} (back-propagated)",
        f"  decay per layer: {_fmt(s['decay_per_layer'])} (weights),"
        f" {_fmt(s.get('backprop_decay_per_layer'))} (back-propagated)",
        f"  final accuracy: {_fmt(s['final_val_accuracy'])} (validation),"
        f" {_fmt(s.get('final_train_accuracy'))} (training)",
    ]
    if s["diverged_at_step"] is not None:
        lines.append(f"  diverged at step {s['diverged_at_step']} (a NaN or inf gradient)")
    diagnosis = result.get("diagnosis")
    if diagnosis:
        lines.append(f"  diagnosis: {diagnosis['verdict']}")
    return lines


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
    from tqdm import tqdm

    from core.errors import GradatlasError
    from core.result_io import save_json, save_npz
    from core.train import run_experiment

    bar = tqdm(
        total=spec.total_steps,
        unit="step",
        desc=spec.name,
        file=sys.stderr,
        disable=args.quiet,
        dynamic_ncols=True,
    )

    def on_progress(progress: Progress, partial: Callable[[], ResultDict]) -> None:
        bar.update(max(0, progress.step - bar.n))
        bar.set_postfix(epoch=progress.epoch, refresh=False)

    try:
        with bar, GracefulInterrupt() as interrupt:
            result = run_experiment(
                spec, on_progress=on_progress, should_stop=lambda: interrupt.requested
            )
    except GradatlasError as exc:
        print(f"gradatlas: run failed: {exc}", file=sys.stderr)
        return EXIT_FAILED

    (out / "spec.json").write_text(spec.model_dump_json(indent=2) + "\n", encoding="utf-8")
    save_json(result, out / "result.json")
    save_npz(result, out / "result.npz")
    if not args.quiet:
        print("\n".join(summary_lines(spec, result)))
        print(f"  wrote {out / 'result.json'} and {out / 'result.npz'}")
    return EXIT_OK


# ---------------------------------------------------------------- gradatlas spec


def _add_spec_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--example", metavar="NAME", help="print the example spec NAME")
    which.add_argument("--list", action="store_true", help="list the example specs")
    which.add_argument("--schema", action="store_true", help="print the spec's JSON schema")


def _known_examples() -> str:
    width = max(len(n) for n in examples.names())
    return "\n".join(
        f"{name:<{width}}  {examples.DESCRIPTIONS.get(name, '')}".rstrip()
        for name in examples.names()
    )


def _spec(args: argparse.Namespace) -> int:
    if args.list:
        print(_known_examples())
    elif args.schema:
        import json

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


# ---------------------------------------------------------------- the registry

SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "run",
        "train a spec here, write DIR/result.json and DIR/result.npz",
        _add_run_arguments,
        _run,
    ),
    Subcommand("spec", "print, list or describe example specs", _add_spec_arguments, _spec),
    *(Subcommand(*command) for command in SERVICE_SUBCOMMANDS),
]


def build_parser(subcommands: Sequence[Subcommand] = SUBCOMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradatlas",
        description="Train networks and watch their gradients vanish or explode.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in subcommands:
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(p)
        p.set_defaults(handler=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``gradatlas`` command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on bad arguments
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UsageError as exc:
        print(f"gradatlas: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gradatlas: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `gradatlas spec --schema | head`: the reader left. Point stdout at /dev/null so
        # the interpreter's final flush does not raise a second time.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
