"""Requests per client per minute, counted in Redis so every API process shares the count.

Keys (``P`` is the prefix)::

    P:rate:<who>:<minute>     a counter, expiring after its minute

A fixed window: the counter of the current minute (Unix time // 60) is
incremented; past ``limit`` the request is refused until the minute ends.
"""

from __future__ import annotations

import math
import time

from core.store.aio import AsyncReader
from core.store.connection import guard, key

WINDOW_S = 60


async def over_limit(
    reader: AsyncReader, who: str, limit: int, *, now: float | None = None
) -> float | None:
    """Count a request of ``who``; seconds until it may retry when over ``limit``, else None.

    Raises ``StoreUnavailable`` when Redis cannot count (the caller decides whether to
    let the request through).
    """
    now = time.time() if now is None else now
    window = int(now // WINDOW_S)
    counter = key(reader.prefix, "rate", who, str(window))
    with guard():
        async with reader.client().pipeline(transaction=False) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, WINDOW_S + 1)
            count, _ = await pipe.execute()
    if int(count) <= limit:
        return None
    return max(1.0, math.ceil((window + 1) * WINDOW_S - now))
