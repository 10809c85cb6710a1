"""Routers: every module here with a module-level ``router`` is mounted by ``create_app``.

Add a feature by adding a module (e.g. ``plots.py`` with ``router = APIRouter()``);
nothing else needs to change.
"""
