"""The Celery side: ``celery_app`` (configuration) and ``tasks`` (thin adapters over core)."""
