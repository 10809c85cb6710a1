"""The HTTP side: ``create_app()`` in ``app.py``; run it with ``python -m api``.

- ``app.py``: the factory, and the routers it mounts
- ``routers/``: the routes, a few lines each over ``services/``
- ``services/``: experiments, sweeps and figures, without HTTP
- ``views.py``: store records as the views of ``core.views``
- ``deps.py``: FastAPI dependencies as ``Annotated`` aliases
- ``http.py``: JSON answers, 202s, ``If-None-Match``
- ``openapi.py``: what ``/openapi.json`` adds to the routes' own models
- ``problems.py``: every error as ``application/problem+json``
- ``limits.py``: the server's own limits on a valid spec
- ``dispatch.py``: sending experiments to the workers by task name
- ``cache.py``: the short-lived cache of experiment views
- ``metrics.py``: Prometheus metrics of the service
"""
