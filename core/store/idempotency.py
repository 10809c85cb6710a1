"""``Idempotency-Key``: the same key and body make one resource, however often sent.

Keys (``P`` is the prefix; the client's key is kept as its SHA-256)::

    P:idem:<tenant or ->:<scope>:<sha256 of the key>   JSON {"fp": body fingerprint, "id": ""}

The first request takes the key with ``SET NX`` (atomic: of concurrent requests
exactly one wins), creates the resource and writes its id; the others wait a
moment for that id and answer with the same resource. A key sent with another
body is refused. Keys expire ``ttl_s`` after their first use, and are scoped by
tenant, so two tenants' keys never meet.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Literal

from core.store.connection import Keyspace, guard
from core.store.store import Store

#: How long a request waits for a concurrent one with the same key to finish.
WAIT_S = 10.0


@dataclass(frozen=True)
class Begun:
    """What a request holding an ``Idempotency-Key`` does next.

    ``new``: it is the first; create the resource, then :meth:`Idempotency.done`
    (or :meth:`Idempotency.abandon` if that fails). ``replay``: answer with
    resource ``id``. ``mismatch``: the key was used with another body.
    ``pending``: the first request is still at it (after ``WAIT_S``).
    """

    outcome: Literal["new", "replay", "mismatch", "pending"]
    key: str
    id: str = ""


def fingerprint(body: str) -> str:
    """A body's fingerprint: the hash of its canonical JSON (parsed, then dumped)."""
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


class Idempotency(Keyspace):
    def __init__(self, store: Store, *, ttl_s: int) -> None:
        self.redis, self.prefix, self.ttl_s = store.redis, store.prefix, ttl_s

    def _key(self, tenant: str | None, scope: str, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return self._k("idem", tenant or "-", scope, digest)

    def begin(
        self, tenant: str | None, scope: str, key: str, fp: str, *, wait_s: float = WAIT_S
    ) -> Begun:
        k = self._key(tenant, scope, key)
        deadline = time.monotonic() + wait_s
        while True:
            with guard():
                if self.redis.set(k, json.dumps({"fp": fp, "id": ""}), nx=True, ex=self.ttl_s):
                    return Begun("new", k)
                raw = self.redis.get(k)
            if raw is not None:
                held = json.loads(raw)
                if held["fp"] != fp:
                    return Begun("mismatch", k)
                if held["id"]:
                    return Begun("replay", k, held["id"])
            if time.monotonic() > deadline:
                return Begun("pending", k)
            time.sleep(0.05)  # a concurrent first request is creating it (or gave up)

    def done(self, begun: Begun, fp: str, resource_id: str) -> None:
        with guard():
            self.redis.set(begun.key, json.dumps({"fp": fp, "id": resource_id}), ex=self.ttl_s)

    def abandon(self, begun: Begun) -> None:
        """The first request failed: free the key for a retry."""
        with guard():
            self.redis.delete(begun.key)
