"""Tenants: who owns an experiment or a sweep, their own listings and their quota.

Keys (``P`` is the prefix, ``t`` a tenant; see ``core.keys.TENANT_PATTERN``)::

    P:tenant:t:index:all        sorted set of t's experiment ids (as P:index:all)
    P:tenant:t:index:<status>   the same, one per status (kept by the Lua transitions)
    P:tenant:t:index:sweeps     t's sweep ids

A record names its tenant (``tenant``) and the prefix of its tenant's indexes
(``tindex``), so every status change in ``lua.py`` moves it in both the global
indexes and its tenant's. Without API keys there are no tenants (``None``):
everything is in the global indexes, and every client sees everything.
Another tenant's experiment answers exactly as a missing one does.
"""

from __future__ import annotations

from typing import Any

from core.errors import NotFound, Throttled
from core.store.connection import Keyspace, as_text, guard

#: KEYS: record, index all, index queued, tenant's index all, tenant's index queued,
#: tenant's index running (the global ones again without a tenant).
#: ARGV: id, max active ('' = no limit), then the record's fields and values.
#: -> ok | full <active>
CREATE = """
if ARGV[2] ~= '' then
  local active = redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[6])
  if active >= tonumber(ARGV[2]) then return {'full', tostring(active)} end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
redis.call('ZADD', KEYS[5], 0, ARGV[1])
return {'ok', ''}
"""


def owns(owner_tenant: str | None, tenant: str | None) -> bool:
    """Whether a request of ``tenant`` (None: an anonymous API) may see a thing of
    ``owner_tenant``."""
    return tenant is None or owner_tenant == tenant


class TenantsMixin(Keyspace):
    """``Store``'s tenant-aware index names, creation under a quota and active counts."""

    def tenant_indexes(self, tenant: str) -> str:
        """The prefix of ``tenant``'s indexes (stored in each record as ``tindex``)."""
        return self._k("tenant", tenant, "index")

    def index(self, name: str, tenant: str | None = None) -> str:
        """Index ``name`` (``all``, a status, ``sweeps``): ``tenant``'s, or the global one."""
        if tenant is None:
            return self._k("index", name)
        return f"{self.tenant_indexes(tenant)}:{name}"

    def active(self, tenant: str | None = None) -> int:
        """Queued plus running experiments of ``tenant`` (of everyone when None)."""
        with guard():
            pipe = self.redis.pipeline(transaction=False)
            pipe.zcard(self.index("queued", tenant))
            pipe.zcard(self.index("running", tenant))
            queued, running = pipe.execute()
        return int(queued) + int(running)

    def _create_indexed(
        self,
        exp_id: str,
        record_key: str,
        fields: dict[str, str],
        *,
        tenant: str | None,
        max_active: int | None,
    ) -> None:
        """Write a new record and index it, unless ``tenant`` has ``max_active`` active."""
        keys = [
            record_key,
            self.index("all"),
            self.index("queued"),
            self.index("all", tenant),
            self.index("queued", tenant),
            self.index("running", tenant),
        ]
        args: list[Any] = [exp_id, "" if max_active is None else max_active]
        for k, v in fields.items():
            args += [k, v]
        with guard():
            outcome, value = (as_text(x) for x in self.redis.eval(CREATE, len(keys), *keys, *args))
        if outcome == "full":
            who = f"Tenant {tenant!r} has" if tenant else "The service has"
            raise Throttled(
                f"{who} {value} experiments queued or running, the most allowed "
                f"(GRADATLAS_MAX_ACTIVE_PER_TENANT = {max_active}); wait for some to finish "
                f"or cancel some.",
                active=int(value),
                limit=max_active,
            )


def not_found(what: str, thing_id: str) -> NotFound:
    """The one answer for "missing" and "another tenant's"."""
    return NotFound(f"No {what} {thing_id!r}: it never existed, expired or was deleted.")
