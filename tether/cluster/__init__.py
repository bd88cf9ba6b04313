"""Stacking on other machines: Celery with Redis as the broker, used only when ``[cluster] broker`` is set.

``batch`` (what an item is, its result's key, the idempotent stack; no Celery), ``app`` (the
Celery app and its tasks), ``worker`` (a machine's capacity), ``pool`` (cluster tasks as the
engine's jobs). Only ``batch`` may be imported without Celery installed and configured.
"""
