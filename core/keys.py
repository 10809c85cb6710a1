"""API keys: ``tenant=key`` pairs, kept as SHA-256 digests and looked up in constant time.

A key is never stored, logged or echoed as given: :class:`KeyRing` keeps only
the digests, and its errors and ``repr`` name entries by position, never by
content. Tenant names become parts of store keys, so they are restricted to
:data:`TENANT_PATTERN`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

#: What a tenant may be called (it becomes a part of Redis key names).
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_TENANT = re.compile(TENANT_PATTERN)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class KeyRing:
    """Digests of the API keys, each with its tenant. Empty: the API is anonymous."""

    _entries: tuple[tuple[bytes, str], ...] = field(default=(), repr=False)

    @classmethod
    def parse(cls, pairs: Iterable[str], *, source: str) -> KeyRing:
        """``tenant=key`` strings (blank ones skipped); ``ValueError`` naming the entry."""
        entries: list[tuple[bytes, str]] = []
        for n, raw in enumerate(pairs, start=1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            tenant, sep, key = (part.strip() for part in text.partition("="))
            if not sep or not key:
                raise ValueError(f"{source}: entry {n} is not tenant=key")
            if not _TENANT.match(tenant):
                raise ValueError(
                    f"{source}: entry {n}: a tenant is 1-64 letters, digits, '_', '.' or '-'"
                )
            digest = _digest(key)
            if KeyRing(tuple(entries))._has(digest):
                raise ValueError(f"{source}: entry {n} repeats the key of an earlier entry")
            entries.append((digest, tenant))
        return cls(tuple(entries))

    def joined(self, other: KeyRing) -> KeyRing:
        """Both rings' keys; ``ValueError`` if a key is in both."""
        for n, (digest, _) in enumerate(other._entries, start=1):
            if self._has(digest):
                raise ValueError(f"the key of entry {n} of the file is also in GRADATLAS_API_KEYS")
        return KeyRing(self._entries + other._entries)

    def _has(self, digest: bytes) -> bool:
        return any(hmac.compare_digest(digest, d) for d, _ in self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def tenants(self) -> frozenset[str]:
        return frozenset(t for _, t in self._entries)

    def tenant_of(self, key: str) -> str | None:
        """The tenant ``key`` belongs to, or None. Compares with every digest, whatever
        matches, so the time taken says nothing about which key (nearly) matched."""
        digest = _digest(key)
        found: str | None = None
        for d, tenant in self._entries:
            if hmac.compare_digest(digest, d):
                found = tenant
        return found
