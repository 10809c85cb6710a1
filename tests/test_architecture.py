"""The dependency rule of docs/architecture.md, read off the source (every import, via ast).

Imports point down: ``api``, ``worker`` and ``gradatlas`` import ``core``; ``core``
imports none of them nor the frameworks; ``api`` and ``worker`` meet only through
``core.queue``. Imports under ``if TYPE_CHECKING:`` and inside functions count too.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_procs import ROOT

PACKAGES = ("core", "api", "worker", "gradatlas")
FRAMEWORKS = ("celery", "kombu", "fastapi", "starlette", "uvicorn")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imports(path: Path) -> Iterator[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path)
    # A package's own name is its __init__'s; a module's package is its parent.
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                assert len(base) == len(package) - node.level + 1, f"{path}: import above root"
                prefix = ".".join(base)
                if node.module:
                    yield f"{prefix}.{node.module}"
                else:
                    yield from (f"{prefix}.{alias.name}" for alias in node.names)
            else:
                assert node.module is not None
                yield node.module
                # `from core import nn` imports core.nn too.
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


def top(name: str) -> str:
    return name.partition(".")[0]


def offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module_name(path)} imports {name}"
        for path in modules(package)
        for name in imports(path)
        if top(name) in forbidden
    ]


def test_the_packages_are_where_the_rule_expects_them() -> None:
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").is_file(), package
        assert len(modules(package)) > 1, package


def test_relative_imports_resolve() -> None:
    # A check of the helper itself: core.nn's __init__ imports its modules relatively.
    names = set(imports(ROOT / "core" / "nn" / "__init__.py"))
    assert "core.nn.activations" in names


def test_core_imports_no_outer_package_and_no_framework() -> None:
    assert offending("core", ("api", "worker", "gradatlas", *FRAMEWORKS)) == []


def test_api_never_imports_the_worker() -> None:
    assert offending("api", ("worker",)) == []


def test_the_worker_never_imports_the_api() -> None:
    assert offending("worker", ("api", "gradatlas")) == []


def test_the_client_imports_neither_the_api_nor_the_worker() -> None:
    assert offending("gradatlas", ("api", "worker")) == []


def test_the_engine_imports_numpy_and_the_standard_library_only() -> None:
    allowed = {"numpy", "__future__", *sys.stdlib_module_names}
    bad = [
        f"{module_name(path)} imports {name}"
        for path in sorted((ROOT / "core" / "nn").rglob("*.py"))
        for name in imports(path)
        if top(name) not in allowed and not (name == "core.nn" or name.startswith("core.nn."))
    ]
    assert bad == []


def test_only_the_statistics_kernels_are_compiled() -> None:
    # numba compiles core/stats_kernels.py and nothing else: the engine stays NumPy, and
    # the API (which never trains) never loads a compiler.
    users = sorted(
        module_name(path)
        for package in PACKAGES
        for path in modules(package)
        if any(top(name) == "numba" for name in imports(path))
    )
    assert users == ["core.stats_kernels"]
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, api.app; print('numba' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert loaded == "False"


def test_the_spec_imports_no_numpy() -> None:
    # The API validates specs without loading the engine.
    spec = ROOT / "core" / "spec.py"
    assert [name for name in imports(spec) if top(name) == "numpy"] == []
    # Nor through a core module that does: everything spec imports from core is numpy-free.
    for name in imports(spec):
        if top(name) == "core" and name != "core":
            path = ROOT / Path(*name.split("."))
            source = path.with_suffix(".py") if path.with_suffix(".py").is_file() else None
            if source is not None:
                assert [n for n in imports(source) if top(n) == "numpy"] == [], name


def test_the_queue_module_is_plain_data() -> None:
    # Both sides import it; it must neither import Celery nor touch the environment.
    queue = ROOT / "core" / "queue.py"
    assert [name for name in imports(queue) if top(name) in FRAMEWORKS] == []
    assert "os.environ" not in queue.read_text()


def test_every_package_ships_py_typed() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]
    for package in PACKAGES:
        assert (ROOT / package / "py.typed").is_file(), package
        assert "py.typed" in package_data.get(package, []) + package_data.get("*", []), package


def _repo_texts() -> Iterator[Path]:
    """The project's own documentation and source: what a user's clone shows."""
    yield from ROOT.glob("*.md")
    yield from (ROOT / "docs").rglob("*.md")
    for folder in (*PACKAGES, "tests", "bench", "scripts"):
        yield from (ROOT / folder).rglob("*.py")
    yield from (ROOT / "scripts").glob("*.sh")
    yield from (ROOT / name for name in ("Makefile", "Dockerfile", "docker-compose.yml"))


# Spelled in two halves so this file does not cite them either.
DEVELOPER_ONLY = ("shared" + "/", "DESIGN" + ".md", "CONTRACT" + ".md")


@pytest.mark.parametrize("cited", DEVELOPER_ONLY)
def test_no_text_cites_the_developers_notes(cited: str) -> None:
    # A user's clone has none of the developers' notes: docs and docstrings cite docs/.
    hits = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _repo_texts()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if cited in line
    ]
    assert hits == []


@pytest.mark.parametrize(
    ("entry", "env", "want"),
    [
        ("api.__main__", {}, "1"),
        ("api.__main__", {"GRADATLAS_BLAS_THREADS": "2"}, "1"),
        ("worker.celery_app", {}, "1"),
        ("worker.celery_app", {"GRADATLAS_BLAS_THREADS": "2"}, "2"),
        ("worker.celery_app", {"OPENBLAS_NUM_THREADS": "3"}, "3"),  # an operator's own choice
    ],
)
def test_each_process_limits_blas_threads_before_numpy_loads(
    entry: str, env: dict[str, str], want: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    clean.pop("GRADATLAS_BLAS_THREADS", None)
    # What OPENBLAS_NUM_THREADS says at the moment NumPy is first imported: what BLAS reads.
    code = "\n".join(
        [
            "import os, sys",
            "seen = []",
            "class Spy:",
            "    def find_spec(self, name, path=None, target=None):",
            "        if name == 'numpy' and not seen:",
            "            seen.append(os.environ.get('OPENBLAS_NUM_THREADS'))",
            "sys.meta_path.insert(0, Spy())",
            f"import {entry}",
            "import numpy",
            "print(seen[0])",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == want
