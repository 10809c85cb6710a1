"""What the live event streams read: an experiment's record, and whether its result changed.

The API's broadcaster (``api/services/events.py``) asks once per tick per
experiment, however many clients follow it. A tick is one round trip: the
record hash and the last 8 bytes of the stored result, gzip's trailer (the
CRC-32 and the length of the JSON inside), which change whenever the result
does. The result itself, megabytes for a deep network, is read only then.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import NotFound
from core.store.aio import AsyncReader
from core.store.connection import ExperimentKeys, guard
from core.store.record import ExperimentRecord

#: gzip's trailer: CRC-32 and ISIZE of the uncompressed data (RFC 1952 § 2.2).
_TRAILER = 8


@dataclass(frozen=True)
class FeedTick:
    """An experiment as one tick sees it."""

    record: ExperimentRecord
    #: The stored result's gzip trailer; None while nothing is recorded.
    result_tag: bytes | None


class FeedReader(AsyncReader):
    """``AsyncReader`` plus the two reads a live feed makes."""

    async def tick(self, exp_id: str) -> FeedTick:
        """The record and the result's tag, in one pipeline; ``NotFound`` once it is gone."""
        keys = ExperimentKeys.of(self.prefix, exp_id)
        with guard():
            async with self._client().pipeline(transaction=True) as pipe:
                pipe.hgetall(keys.record)
                pipe.getrange(keys.result, -_TRAILER, -1)
                h, tag = await pipe.execute()
        if not h:
            raise NotFound(f"No experiment {exp_id!r}: it never existed, expired or was deleted.")
        return FeedTick(ExperimentRecord.from_hash(h), bytes(tag) if tag else None)

    async def result(self, exp_id: str) -> bytes | None:
        """The stored gzip'd result as it is now; None when there is none."""
        with guard():
            data = await self._client().get(ExperimentKeys.of(self.prefix, exp_id).result)
        return data if isinstance(data, bytes) else None
