"""One :class:`~gradatlas.protocol.Call` per operation of the API (docs/contract.md § HTTP API).

A parameter left ``None`` is not sent, so the server's default applies: the
defaults are declared once, by the server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, Unpack
from urllib.parse import quote

from gradatlas.config import API_KEY_ENV
from gradatlas.protocol import Call, QueryValue, is_ok, read_bytes, read_json, read_nothing
from gradatlas.types import (
    Activations,
    Experiment,
    ImageFormat,
    ImageScale,
    Page,
    PlotList,
    ResultDict,
    Status,
    Sweep,
    SweepPage,
    Theory,
)

if TYPE_CHECKING:
    from core.spec import ExperimentSpec

#: The header that tags an experiment with who submitted it (``owner`` in its answers).
OWNER_HEADER = "X-Gradatlas-Owner"


def api_key_of(api_key: str | None) -> str | None:
    """``api_key``, else ``$GRADATLAS_API_KEY``; read when called."""
    return api_key or os.environ.get(API_KEY_ENV) or None


def headers(owner: str | None, api_key: str | None = None) -> dict[str, str]:
    """The headers every request of a client carries: the owner label, and the API key
    (``api_key``, else ``$GRADATLAS_API_KEY``) as a bearer token when there is one."""
    out = {OWNER_HEADER: owner} if owner else {}
    key = api_key_of(api_key)
    if key:
        out["Authorization"] = f"Bearer {key}"
    return out


def _seg(value: str) -> str:
    """An id as one path segment: ``a/b`` must not reach another route."""
    return quote(value, safe="")


def _query(**params: QueryValue | None) -> dict[str, QueryValue]:
    return {k: v for k, v in params.items() if v is not None}


def _experiment(experiment_id: str, tail: str = "") -> str:
    return f"/v1/experiments/{_seg(experiment_id)}{tail}"


def _sweep(sweep_id: str, tail: str = "") -> str:
    return f"/v1/sweeps/{_seg(sweep_id)}{tail}"


# ---------------------------------------------------------------- experiments


def submit(spec: ExperimentSpec | Mapping[str, Any]) -> Call[Experiment]:
    body = dict(spec) if isinstance(spec, Mapping) else spec.model_dump(mode="json")
    return Call("POST", "/v1/experiments", read_json(Experiment), json=body)


def get(experiment_id: str) -> Call[Experiment]:
    return Call("GET", _experiment(experiment_id), read_json(Experiment))


def list_experiments(
    status: Status | None = None, limit: int | None = None, cursor: str | None = None
) -> Call[Page]:
    params = _query(status=status, limit=limit, cursor=cursor)
    return Call("GET", "/v1/experiments", read_json(Page), params=params)


def stats(
    experiment_id: str,
    layers: Sequence[int | range] | None = None,
    stats: Sequence[str] | None = None,
    every: int | None = None,
) -> Call[ResultDict]:
    """The result, or a slice of it: only ``layers`` (indices or ranges), only ``stats``
    (names), only every ``every``-th record (docs/contract.md § HTTP API)."""
    params = _query(
        layers=None if layers is None else ",".join(map(_layers, layers)),
        stats=None if stats is None else ",".join(stats),
        every=every,
    )
    return Call("GET", _experiment(experiment_id, "/stats"), read_json(ResultDict), params=params)


def _layers(item: int | range) -> str:
    """A layer index, or a range of them as the server's inclusive ``a-b``."""
    if isinstance(item, range):
        if item.step != 1 or not item:
            raise ValueError(f"layers: a range must be non-empty with step 1, not {item}")
        return f"{item.start}-{item.stop - 1}"
    return str(item)


def cancel(experiment_id: str) -> Call[Experiment]:
    return Call("POST", _experiment(experiment_id, "/cancel"), read_json(Experiment))


def delete(experiment_id: str) -> Call[None]:
    return Call("DELETE", _experiment(experiment_id), read_nothing)


def plot(
    experiment_id: str, name: str, fmt: ImageFormat, scale: ImageScale | None = None
) -> Call[bytes]:
    path = _experiment(experiment_id, f"/plots/{_seg(name)}.{fmt}")
    return Call("GET", path, read_bytes, params=_query(scale=scale))


def plots(experiment_id: str) -> Call[PlotList]:
    return Call("GET", _experiment(experiment_id, "/plots"), read_json(PlotList))


def remedy(experiment_id: str, k: int) -> Call[Experiment]:
    return Call("POST", _experiment(experiment_id, f"/remedies/{k}"), read_json(Experiment))


def compare_plot(experiment_ids: Sequence[str], fmt: ImageFormat) -> Call[bytes]:
    params = {"ids": ",".join(experiment_ids)}
    return Call("GET", f"/v1/compare/plots/gradient-profile.{fmt}", read_bytes, params=params)


def events_path(experiment_id: str) -> str:
    """The experiment's server-sent events (gradatlas/events.py follows them)."""
    return _experiment(experiment_id, "/events")


# ---------------------------------------------------------------- sweeps


def submit_sweep(sweep: Mapping[str, Any]) -> Call[Sweep]:
    return Call("POST", "/v1/sweeps", read_json(Sweep), json=dict(sweep))


def get_sweep(sweep_id: str) -> Call[Sweep]:
    return Call("GET", _sweep(sweep_id), read_json(Sweep))


def list_sweeps(limit: int | None = None, cursor: str | None = None) -> Call[SweepPage]:
    params = _query(limit=limit, cursor=cursor)
    return Call("GET", "/v1/sweeps", read_json(SweepPage), params=params)


def cancel_sweep(sweep_id: str) -> Call[Sweep]:
    return Call("POST", _sweep(sweep_id, "/cancel"), read_json(Sweep))


def sweep_plot(
    sweep_id: str, name: str, fmt: ImageFormat, scale: ImageScale | None = None
) -> Call[bytes]:
    path = _sweep(sweep_id, f"/plots/{_seg(name)}.{fmt}")
    return Call("GET", path, read_bytes, params=_query(scale=scale))


def sweep_events_path(sweep_id: str) -> str:
    return _sweep(sweep_id, "/events")


# ---------------------------------------------------------------- no training


class TheoryOptions(TypedDict, total=False):
    """``GET /v1/theory``'s optional parameters (absent: the server's default)."""

    init: str
    width: int
    negative_slope: float
    n_features: int
    n_classes: int
    batch_norm: bool
    residual: bool
    residual_every: int
    init_gain: float
    bias_std: float
    batch_size: int


class DerivativesOptions(TypedDict, total=False):
    """``GET /v1/activations/plots/derivatives.{fmt}``'s optional parameters."""

    x_min: float
    x_max: float
    negative_slope: float


def theory(activation: str, depth: int, **options: Unpack[TheoryOptions]) -> Call[Theory]:
    params = _query(activation=activation, depth=depth, **options)
    return Call("GET", "/v1/theory", read_json(Theory), params=params)


def activations() -> Call[Activations]:
    return Call("GET", "/v1/activations", read_json(Activations))


def activations_plot(
    names: Sequence[str] | None, fmt: ImageFormat, **options: Unpack[DerivativesOptions]
) -> Call[bytes]:
    params = _query(names=None if names is None else ",".join(names), **options)
    return Call("GET", f"/v1/activations/plots/derivatives.{fmt}", read_bytes, params=params)


# ---------------------------------------------------------------- the service


def healthy() -> Call[bool]:
    return Call("GET", "/healthz", is_ok, check=False)


def ready() -> Call[bool]:
    return Call("GET", "/readyz", is_ok, check=False)
