"""Results on the wire and at rest: compact JSON, gzip'd once by the worker.

The API serves these bytes as they are (``Content-Encoding: gzip``), so the
hot path never parses and re-dumps a result.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from typing import Any, cast

from gradatlas.core.result import ResultDict


def encode_result(result: ResultDict, *, level: int = 6) -> bytes:
    """Compact JSON, gzip'd with a zero mtime so equal results give equal bytes."""
    try:
        text = json.dumps(result, separators=(",", ":"), allow_nan=False)
    except ValueError:
        # JSON has no NaN: a non-finite float that slipped through becomes null.
        text = json.dumps(_finite(result), separators=(",", ":"), allow_nan=False)
    return gzip.compress(text.encode(), compresslevel=level, mtime=0)


def _finite(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    return x


def decode_result(data: bytes) -> ResultDict:
    return cast(ResultDict, json.loads(gzip.decompress(data)))


def etag_of(data: bytes) -> str:
    """A strong validator for stored bytes (unquoted)."""
    return hashlib.sha256(data).hexdigest()[:32]
