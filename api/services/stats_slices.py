"""A slice of a stored result: some layers, some statistics, every k-th record.

``GET /v1/experiments/{id}/stats?layers=0,5-9&stats=grad_norm&every=10`` answers the
result's shape (docs/contract.md § Result) with only those parts: ``layers`` and the
columns of ``stats``, ``grad_histogram.counts`` and ``batch_norm`` keep the chosen
layers (by their ``index``, in order), ``steps`` and the rows of ``stats`` and
``batch_norm`` keep records 0, k, 2k, ...; ``metrics``, ``summary``, ``diagnosis``
and ``theory`` come whole. The server reads the stored result to cut it, so a slice
saves the client's transfer and parse, not the server's; a final result's parsed
form is kept (one, the last asked for) so repeated slices of it skip the parse.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from api.problems import QueryError
from core.errors import FieldError
from core.result import ResultDict
from core.spec import LAYER_STATS
from core.store.codec import decode_result
from core.store.store import StoredResult

#: Longest ``layers`` / ``stats`` query values accepted (characters).
MAX_LAYERS_CHARS = 2000
MAX_STATS_CHARS = 1000
#: Largest ``every``: a result holds at most this many records anyway.
MAX_EVERY = 1_000_000
#: gzip level for a slice sent to a client that accepts it: fast, the slice is fresh.
SLICE_GZIP_LEVEL = 1

_RANGE = re.compile(r"^(\d{1,6})(?:-(\d{1,6}))?$")


@dataclass(frozen=True)
class StatsSlice:
    """What to keep: layer indices (None: all), statistic names (None: all), every k-th."""

    layers: tuple[int, ...] | None = None
    stats: tuple[str, ...] | None = None
    every: int = 1

    @property
    def whole(self) -> bool:
        return self.layers is None and self.stats is None and self.every == 1

    def key(self) -> str:
        """A short digest of the slice, for its ETag."""
        text = f"{self.layers}|{self.stats}|{self.every}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse_slice(layers: str | None, stats: str | None, every: int) -> StatsSlice:
    """The query's slice; 422 (``QueryError``) naming each malformed parameter.

    ``layers``: comma-separated indices and inclusive ranges (``0,5-9``); ``stats``:
    comma-separated names of docs/contract.md § Statistics. Indices are checked
    against the result once it is read (:func:`cut`).
    """
    errors: list[FieldError] = []
    chosen_layers: list[int] | None = None
    if layers is not None:
        chosen_layers = []
        for part in layers.split(","):
            m = _RANGE.match(part.strip())
            if m is None or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
                errors.append(
                    FieldError(
                        "layers",
                        f"{part.strip()!r} is not a layer index or a range such as 5-9",
                        input=layers,
                        in_="query",
                    )
                )
                break
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) is not None else lo
            chosen_layers.extend(range(lo, hi + 1))
    chosen_stats: list[str] | None = None
    if stats is not None:
        chosen_stats = [s.strip() for s in stats.split(",")]
        unknown = [s for s in chosen_stats if s not in LAYER_STATS]
        if unknown:
            errors.append(
                FieldError(
                    "stats",
                    f"no such statistic: {', '.join(map(repr, unknown))}",
                    allowed=list(LAYER_STATS),
                    input=stats,
                    in_="query",
                )
            )
    if errors:
        raise QueryError(errors)
    return StatsSlice(
        layers=None if chosen_layers is None else tuple(dict.fromkeys(chosen_layers)),
        stats=None if chosen_stats is None else tuple(dict.fromkeys(chosen_stats)),
        every=every,
    )


def cut(result: ResultDict, s: StatsSlice) -> ResultDict:
    """``result`` with only the slice's layers, statistics and records."""
    n_layers = len(result["layers"])
    cols: Sequence[int] | None = s.layers
    if cols is not None:
        too_big = [i for i in cols if i >= n_layers]
        if too_big:
            raise QueryError(
                [
                    FieldError(
                        "layers",
                        f"layer {too_big[0]} does not exist: this result has layers "
                        f"0 to {n_layers - 1}",
                        limit={"le": n_layers - 1},
                        input=too_big[0],
                        in_="query",
                    )
                ]
            )
    k = s.every

    def table(
        rows: list[list[float | None]], columns: Sequence[int] | None
    ) -> list[list[float | None]]:
        kept = rows[::k] if k > 1 else rows
        if columns is None:
            return list(kept)
        return [[row[c] for c in columns] for row in kept]

    names = s.stats if s.stats is not None else tuple(result["stats"])
    out = cast(ResultDict, dict(result))
    out["layers"] = [result["layers"][c] for c in cols] if cols is not None else result["layers"]
    out["steps"] = result["steps"][::k]
    out["stats"] = {n: table(result["stats"][n], cols) for n in names if n in result["stats"]}
    h = result["grad_histogram"]
    if cols is not None:
        out["grad_histogram"] = {**h, "counts": [[per[c] for c in cols] for per in h["counts"]]}
    bn = result.get("batch_norm")
    if bn is not None:
        # Batch-norm layer j follows dense layer j (hidden layers only).
        bn_cols = [c for c in cols if c < len(bn["layers"])] if cols is not None else None
        out["batch_norm"] = {
            "layers": [bn["layers"][c] for c in bn_cols] if bn_cols is not None else bn["layers"],
            "gamma_grad_norm": table(bn["gamma_grad_norm"], bn_cols),
            "beta_grad_norm": table(bn["beta_grad_norm"], bn_cols),
            "gamma_norm": table(bn["gamma_norm"], bn_cols),
        }
    return out


class _Parsed:
    """The last final result parsed, by (experiment, ETag): slices of it skip the parse."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, str] | None = None
        self._value: ResultDict | None = None

    def get(self, exp_id: str, stored: StoredResult) -> ResultDict:
        key = (exp_id, stored.etag) if stored.final and stored.etag else None
        with self._lock:
            if key is not None and key == self._key and self._value is not None:
                return self._value
        value = decode_result(stored.data)
        if key is not None:
            with self._lock:
                self._key, self._value = key, value
        return value


_PARSED = _Parsed()


def slice_body(exp_id: str, stored: StoredResult, s: StatsSlice, *, gzipped: bool) -> bytes:
    """The slice's JSON body (gzip'd when ``gzipped``). CPU work: run it in a thread."""
    body = json.dumps(cut(_PARSED.get(exp_id, stored), s), separators=(",", ":")).encode()
    return gzip.compress(body, compresslevel=SLICE_GZIP_LEVEL, mtime=0) if gzipped else body
