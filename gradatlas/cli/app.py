"""The ``gradatlas`` command line: every subcommand, the parser and ``main``.

To add a subcommand, write a :class:`~gradatlas.cli.command.Subcommand` in the
module it belongs to and list it in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence

from gradatlas.cli import local, plot, service
from gradatlas.cli.command import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Subcommand, UsageError

SUBCOMMANDS: list[Subcommand] = [*local.SUBCOMMANDS, plot.SUBCOMMAND, *service.SUBCOMMANDS]


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
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `gradatlas spec --schema | head`: the reader left. Point stdout at /dev/null so
        # the interpreter's final flush does not raise a second time.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
