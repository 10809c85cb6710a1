"""Experiment records, results and worker heartbeats in Redis (see ``store.py``)."""

from core.store.codec import decode_result, encode_result, etag_of
from core.store.connection import (
    ID_PATTERN,
    ExperimentKeys,
    Page,
    check_id,
    connect,
    guard,
    is_id,
    new_id,
)
from core.store.record import FINAL_STATUSES, STATUSES, ExperimentRecord, Status, StoredRecord
from core.store.recovery import BrokerKeys, Stray
from core.store.store import Store, StoredResult
from core.store.sweeps import SweepPage, SweepRecord, SweepStore
from core.store.tenants import owns
from core.store.transitions import Claim

__all__ = [
    "FINAL_STATUSES",
    "ID_PATTERN",
    "STATUSES",
    "BrokerKeys",
    "Claim",
    "ExperimentKeys",
    "ExperimentRecord",
    "Page",
    "Status",
    "Store",
    "StoredRecord",
    "StoredResult",
    "Stray",
    "SweepPage",
    "SweepRecord",
    "SweepStore",
    "check_id",
    "connect",
    "decode_result",
    "encode_result",
    "etag_of",
    "guard",
    "is_id",
    "new_id",
    "owns",
]
