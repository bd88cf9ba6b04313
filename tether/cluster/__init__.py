"""Stacking on other machines: Celery with Redis as the broker, used only when ``[cluster] broker`` is set.

``batch`` (what an item is, its result's key, the idempotent stack), ``app`` (the Celery app from
the settings), ``tasks`` (what a worker runs), ``worker`` (a machine's capacity and memory limit),
``pool`` (cluster tasks as the engine's jobs). ``batch`` and ``worker`` import nothing of Celery:
``tether batch --local`` needs no broker.
"""
