"""The client side of gradatlas: the ``gradatlas`` command line (``cli``).

Nothing is imported here, so ``gradatlas spec`` starts without loading NumPy,
the engine or an HTTP client.
"""
