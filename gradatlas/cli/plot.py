"""``gradatlas plot``: a figure of a local run or of an experiment on the service.

::

    gradatlas plot RESULT.json NAME --out FILE [--scale auto]    (no service needed)
    gradatlas plot ID NAME --out FILE [--scale auto] [--url URL]

The first argument is a local result when it ends in ``.json`` or names a file,
else an experiment id. The format follows ``--out``'s suffix (``.png``, ``.svg``,
``.pdf``); ``--format`` is needed only for ``--out -`` (standard output) or a
name without a suffix, and must agree with the suffix when both are given. Any
other suffix is exit status 2 with a message: ``x.pdf`` never gets PNG bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, cast

from core.views import PLOT_FORMATS, PLOT_NAMES, PLOT_SCALES
from gradatlas.cli import service
from gradatlas.cli.command import EXIT_OK, Subcommand, UsageError
from gradatlas.config import DEFAULT_URL, URL_ENV

if TYPE_CHECKING:
    from core.result import ResultDict, Theory
    from gradatlas.client import Client
    from gradatlas.types import ImageFormat, ImageScale


def plot_format(out: str, given: str | None) -> ImageFormat:
    """The format to write ``out`` in: its suffix's, or ``given`` for stdout or no suffix."""
    suffix = "" if out == "-" else Path(out).suffix.lower().removeprefix(".")
    choices = [f".{f}" for f in PLOT_FORMATS]
    if suffix and suffix not in PLOT_FORMATS:
        raise UsageError(f"cannot write a figure as {out}: --out must end in {_listed(choices)}")
    if suffix and given and given != suffix:
        raise UsageError(
            f"--format {given} does not match --out {out}: drop one or make them agree"
        )
    fmt = suffix or given
    if fmt is None:
        if out != "-":
            raise UsageError(f"cannot tell the format of --out {out}: end it in {_listed(choices)}")
        fmt = "png"
    return cast("ImageFormat", fmt)


def _listed(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" or {items[-1]}" if len(items) > 1 else "".join(items)


def is_local(source: str) -> bool:
    return source.lower().endswith(".json") or Path(source).is_file()


def read_result(source: str) -> tuple[ResultDict, Theory | None]:
    """A ``result.json`` of ``gradatlas run`` and its theory (the result's own, else
    predicted from the ``spec.json`` beside it, if there is one)."""
    from pydantic import ValidationError

    from core.result_io import load_json
    from core.spec import ExperimentSpec
    from core.theory import predict

    try:
        result = load_json(source)
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise UsageError(f"{source} is not JSON: {exc}") from exc
    if not isinstance(result, dict) or not {"layers", "steps", "stats"} <= result.keys():
        raise UsageError(f"{source} is not a result (the result.json of `gradatlas run`)")
    theory = result.get("theory")
    spec_file = Path(source).with_name("spec.json")
    if theory is None and spec_file.is_file():
        try:
            theory = predict(ExperimentSpec.model_validate_json(spec_file.read_text("utf-8")))
        except (OSError, ValidationError):
            theory = None  # the figure is drawn without the theory's line
    return result, theory


def render_local(source: str, name: str, fmt: ImageFormat, scale: ImageScale) -> bytes:
    from core import plots
    from core.errors import NotFound

    result, theory = read_result(source)
    try:
        return plots.render(name, result, fmt, theory, scale)
    except NotFound as exc:
        raise UsageError(str(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{source} is not a result this version can draw: {exc!r}") from exc


@service.connected
def _remote(args: argparse.Namespace, api: Client) -> int:
    fmt = plot_format(args.out, args.format)
    service.write_out(args.out, api.plot(args.source, args.name, fmt, args.scale))
    return EXIT_OK


def _plot(args: argparse.Namespace) -> int:
    fmt = plot_format(args.out, args.format)  # before any work: a bad --out is exit 2 at once
    if not is_local(args.source):
        return _remote(args)
    scale: ImageScale = args.scale or "absolute"
    service.write_out(args.out, render_local(args.source, args.name, fmt, scale))
    return EXIT_OK


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "source",
        metavar="RESULT.json|ID",
        help="a result.json written by `gradatlas run`, or an experiment id on the service",
    )
    p.add_argument("name", metavar="NAME", help=", ".join(PLOT_NAMES))
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="where to write it: FILE.png, FILE.svg or FILE.pdf (- for stdout)",
    )
    p.add_argument("--format", choices=PLOT_FORMATS, help="for --out - or a FILE without a suffix")
    p.add_argument(
        "--scale",
        choices=PLOT_SCALES,
        help="absolute (default: fixed ranges, comparable between runs) or auto (zoomed)",
    )
    p.add_argument(
        "--url", help=f"the service, for an ID (default: ${URL_ENV}, else {DEFAULT_URL})"
    )


SUBCOMMAND = Subcommand(
    "plot", "save a figure of a local result.json or of an experiment", _arguments, _plot
)
