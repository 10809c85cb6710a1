"""The ``gradatlas`` command: local runs (``run``, ``spec``) and the service's commands.

``main`` is the entry point (gradatlas/cli/app.py); the subcommands are in
``local`` and ``service``, their output in ``report``.
"""

from gradatlas.cli.app import main

__all__ = ["main"]
