"""A short-lived in-process cache of serialised experiment views, for status polling.

Many clients polling the same experiment (a dashboard, a notebook loop, a fleet
of services) would each cost a Redis round trip; progress changes at most every
``progress_every_s`` anyway. An entry lives ``status_cache_s`` (0.25 s by
default; 0 turns the cache off); this process's own writes (cancel, delete)
drop it at once, so a client always reads its own writes here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedView:
    body: bytes
    #: Quoted strong ETag when the experiment is final, else None.
    etag: str | None
    expires: float
    #: Whose experiment it is (checked on every hit, as the store would).
    tenant: str | None = None


class ViewCache:
    def __init__(self, ttl_s: float, *, max_entries: int = 10_000) -> None:
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: dict[str, CachedView] = {}

    def get(self, exp_id: str) -> CachedView | None:
        entry = self._entries.get(exp_id)
        if entry is None:
            return None
        if entry.expires < time.monotonic():
            self._entries.pop(exp_id, None)
            return None
        return entry

    def put(self, exp_id: str, body: bytes, etag: str | None, *, tenant: str | None = None) -> None:
        if self.ttl_s <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # rare; cheaper than tracking recency
        self._entries[exp_id] = CachedView(body, etag, time.monotonic() + self.ttl_s, tenant)

    def drop(self, exp_id: str) -> None:
        self._entries.pop(exp_id, None)
