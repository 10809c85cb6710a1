"""The HTTP side: ``create_app()`` in ``app.py``; run it with ``python -m api``."""
