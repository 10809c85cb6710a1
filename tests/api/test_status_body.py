"""The status route's body, spliced from the stored JSON, against the view it stands for.

``GET /v1/experiments/{id}`` serves ``api.views.experiment_json``: the record's JSON
fields as stored, never parsed and dumped again. Here that body is checked against
``experiment_view`` (what every other route serves) for records in every state, with
text that needs escaping; and its ``ETag`` against the record it was read from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api_support import api_client, app_settings
from fastapi.testclient import TestClient

from api.views import experiment_json, experiment_view
from core.spec import ExperimentSpec
from core.store import ExperimentRecord, Store, StoredRecord

#: Text a JSON encoder must escape, and text it must not mangle.
AWKWARD = 'caf\u00e9 "quoted" back\\slash </script> \u2603 \U0001f600 tab\tnewline\n'
SPEC = ExperimentSpec.model_validate(
    {
        "name": AWKWARD[:60],
        "model": {"depth": 2, "width": 4, "activation": "tanh"},
        "training": {"epochs": 1, "learning_rate": 1e-5},
    }
)
SUMMARY = {"gradient_ratio_log10": -12.5, "decay_per_layer": 1e-7, "tiny": 5e-324, "none": None}
DIAGNOSIS = {"verdict": "vanishing", "remedies": [{"why": AWKWARD, "changes": {"a.b": 1}}]}


def stored(store: Store, exp_id: str) -> StoredRecord:
    h: dict[bytes, bytes] = store.redis.hgetall(store.experiment_keys(exp_id).record)  # type: ignore[assignment]
    return StoredRecord({k.decode(): v.decode() for k, v in h.items()})


def claimed(store: Store, **create: Any) -> str:
    exp_id = store.create(SPEC, **create).id
    assert store.claim(exp_id, worker="w", max_attempts=3, lease_s=30).outcome == "run"
    return exp_id


def records(store: Store) -> dict[str, str]:
    """An experiment in each state the view can show, by name."""
    out = {
        "queued": store.create(SPEC).id,
        "owned, with meta": store.create(
            SPEC, owner=AWKWARD, meta={"derived_from": AWKWARD, "remedy": "0"}, tenant="t\u00e9"
        ).id,
        "running": claimed(store),
        "cancel requested": claimed(store),
        "failed": claimed(store),
        "succeeded": claimed(store),
        "cancelled while queued": store.create(SPEC).id,
    }
    progress = {"step": 3, "total_steps": 10, "epoch": 0, "fraction": 0.3}
    store.renew(out["running"], 1, lease_s=30, progress=progress)
    store.request_cancel(out["cancel requested"])
    store.finish(out["failed"], "failed", attempt=1, error=AWKWARD)
    store.finish(
        out["succeeded"],
        "succeeded",
        attempt=1,
        result=b"{}",
        summary=SUMMARY,
        diagnosis=DIAGNOSIS,
        progress={**progress, "step": 10, "fraction": 1.0},
    )
    store.request_cancel(out["cancelled while queued"])
    return out


def test_the_spliced_body_is_the_view_in_every_state(store: Store) -> None:
    for name, exp_id in records(store).items():
        s = stored(store, exp_id)
        view = experiment_view(store.get(exp_id))
        body = experiment_json(s)
        assert json.loads(body) == view, name
        assert json.loads(body) == json.loads(json.dumps(view)), name
        assert list(json.loads(body)) == list(view), f"{name}: the same keys in the same order"
        assert s.record() == ExperimentRecord.from_hash(s.h), name
        assert s.final == (view["status"] in ("succeeded", "failed", "cancelled")), name


def test_the_spliced_body_keeps_the_stored_text_as_it_is(store: Store) -> None:
    exp_id = records(store)["succeeded"]
    s = stored(store, exp_id)
    body = experiment_json(s).decode()
    for text in (s.spec_json, s.summary_json, s.diagnosis_json, s.progress_json, s.meta_json):
        assert text
        assert text in body


@pytest.fixture
def client(store: Store, redis_server: Any) -> Iterator[TestClient]:
    # Every request reads the record.
    settings = app_settings(store, redis_server.url, status_cache_s=0)
    with api_client(settings, store) as c:
        yield c


def test_the_etag_follows_the_record_and_nothing_else(client: TestClient, store: Store) -> None:
    exp_id = records(store)["succeeded"]
    url = f"/v1/experiments/{exp_id}"
    first = client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert first.headers["cache-control"] == "no-cache"
    # Read again, the same record: the same validator, and 304 to it (weak or in a list).
    assert client.get(url).headers["etag"] == etag
    for asked in (etag, f"W/{etag}", f'"other", {etag}'):
        again = client.get(url, headers={"If-None-Match": asked})
        assert again.status_code == 304, asked
        assert (again.content, again.headers["etag"]) == (b"", etag)
    head = client.head(url)
    assert (head.status_code, head.headers["etag"], head.content) == (200, etag, b"")
    # The record changes (as nothing in the API does once final, but a repair could):
    # another validator, and the old one no longer matches.
    store.redis.hset(store.experiment_keys(exp_id).record, "error", "repaired")
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["error"] == "repaired"
    assert changed.headers["etag"] != etag
    assert client.get(url).headers["etag"] == changed.headers["etag"]


def test_a_record_that_can_still_change_has_no_etag(client: TestClient, store: Store) -> None:
    made = records(store)
    for name in ("queued", "running", "cancel requested"):
        exp_id = made[name]
        r = client.get(f"/v1/experiments/{exp_id}")
        assert r.status_code == 200
        assert "etag" not in r.headers, name
        assert r.headers["cache-control"] == "no-store"
        assert r.json() == experiment_view(store.get(exp_id))
