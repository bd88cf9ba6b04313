"""The composition root: cameras, owners, the burst store, the job pool and the event bus."""
from tether.engine.engine import Engine
from tether.engine.ids import UnknownId
from tether.engine.jobs import JobCancelled, JobContext, JobPool, PoolJob
from tether.engine.store import BurstStore

__all__ = ["BurstStore", "Engine", "JobCancelled", "JobContext", "JobPool", "PoolJob", "UnknownId"]
