"""The ``gradatlas`` command: local runs (``run``, ``spec``) and the service's commands.

``main`` is the entry point; the subcommands load NumPy, the engine or an HTTP
client only when they run, so ``gradatlas spec`` starts fast.
"""

from gradatlas.cli.main import main

__all__ = ["main"]
