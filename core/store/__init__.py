"""Experiment records, results and worker heartbeats in Redis (see ``store.py``)."""

from core.store.codec import decode_result, encode_result, etag_of
from core.store.connection import ExperimentKeys, Page, connect, guard, new_id
from core.store.record import FINAL_STATUSES, STATUSES, ExperimentRecord, Status
from core.store.recovery import BrokerKeys, Stray
from core.store.store import Store, StoredResult
from core.store.sweeps import SweepPage, SweepRecord, SweepStore
from core.store.transitions import Claim

__all__ = [
    "FINAL_STATUSES",
    "STATUSES",
    "BrokerKeys",
    "Claim",
    "ExperimentKeys",
    "ExperimentRecord",
    "Page",
    "Status",
    "Store",
    "StoredResult",
    "Stray",
    "SweepPage",
    "SweepRecord",
    "SweepStore",
    "connect",
    "decode_result",
    "encode_result",
    "etag_of",
    "guard",
    "new_id",
]
