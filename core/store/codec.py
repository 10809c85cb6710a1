"""Results on the wire and at rest: compact JSON, gzip'd once by the worker.

The API serves these bytes as they are (``Content-Encoding: gzip``), so the
hot path never parses and re-dumps a result.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import cast

from core.result import ResultDict, json_safe


def encode_result(result: ResultDict, *, level: int = 6) -> bytes:
    """Compact JSON, gzip'd with a zero mtime so equal results give equal bytes."""
    try:
        text = json.dumps(result, separators=(",", ":"), allow_nan=False)
    except ValueError:
        # JSON has no NaN: a non-finite float that slipped through becomes null.
        text = json.dumps(json_safe(result), separators=(",", ":"), allow_nan=False)
    return gzip.compress(text.encode(), compresslevel=level, mtime=0)


def decode_result(data: bytes) -> ResultDict:
    return cast(ResultDict, json.loads(gzip.decompress(data)))


def etag_of(data: bytes) -> str:
    """A strong validator for stored bytes (unquoted)."""
    return hashlib.sha256(data).hexdigest()[:32]
