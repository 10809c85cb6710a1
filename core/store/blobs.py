"""Generic bytes that other features cache beside the experiments (plots, sweeps).

Keys (``P`` is the store's prefix)::

    P:blob:<ns>:<key>     bytes, with the TTL the caller chose
"""

from __future__ import annotations

from core.store.connection import Keyspace, guard


class BlobsMixin(Keyspace):
    """``Store``'s methods for namespaced blobs."""

    def put_blob(self, namespace: str, key: str, data: bytes, *, ttl_s: int | None) -> None:
        with guard():
            self.redis.set(self._k("blob", namespace, key), data, ex=ttl_s)

    def get_blob(self, namespace: str, key: str) -> bytes | None:
        with guard():
            value = self.redis.get(self._k("blob", namespace, key))
        return value if isinstance(value, bytes) else None

    def delete_blob(self, namespace: str, key: str) -> None:
        with guard():
            self.redis.delete(self._k("blob", namespace, key))
