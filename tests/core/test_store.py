"""The store against a real redis-server: every transition, allowed and refused."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any, cast

import pytest
import redis

from core.errors import Conflict, NotFound, StoreUnavailable
from core.result import ResultDict
from core.spec import ExperimentSpec
from core.store import (
    FINAL_STATUSES,
    Claim,
    ExperimentRecord,
    Status,
    Store,
    StoredResult,
    SweepStore,
    connect,
    decode_result,
    encode_result,
    guard,
    new_id,
)
from core.store.aio import AsyncReader

SPEC = ExperimentSpec.model_validate(
    {"model": {"depth": 2, "width": 4, "activation": "relu"}, "training": {"epochs": 1}}
)
LEASE = 30.0


def result(value: float) -> ResultDict:
    return cast(ResultDict, {"steps": [0, 10], "stats": {"grad_norm": [[value, None]]}})


def claim(store: Store, exp_id: str, now: float | None = None, max_attempts: int = 3) -> Claim:
    return store.claim(exp_id, worker="w1", max_attempts=max_attempts, lease_s=LEASE, now=now)


def running(store: Store) -> str:
    exp_id = store.create(SPEC).id
    assert claim(store, exp_id).outcome == "run"
    return exp_id


def finished(store: Store, status: Status) -> str:
    exp_id = store.create(SPEC).id
    if status == "cancelled":
        store.request_cancel(exp_id)
    else:
        assert status in ("succeeded", "failed"), status
        claim(store, exp_id)
        assert store.finish(exp_id, status, attempt=1, error="boom" if status == "failed" else None)
    return exp_id


def test_create_stores_a_queued_record(store: Store) -> None:
    record = store.create(SPEC, owner="alice", meta={"sweep": "s1"})
    got = store.get(record.id)
    assert got.status == "queued"
    assert got.spec == SPEC
    assert got.owner == "alice"
    assert got.meta == {"sweep": "s1"}
    assert got.attempts == 0
    assert got.progress == {"step": 0, "total_steps": SPEC.total_steps, "epoch": 0, "fraction": 0.0}
    assert got.started_at is None
    assert got.finished_at is None
    assert store.counts()["queued"] == 1


def test_unknown_ids_are_not_found(store: Store) -> None:
    assert store.find("nope") is None
    with pytest.raises(NotFound):
        store.get("nope")
    with pytest.raises(NotFound):
        store.delete("nope")
    with pytest.raises(NotFound):
        store.request_cancel("nope")
    with pytest.raises(NotFound):
        store.result_bytes("nope")
    assert claim(store, "nope").outcome == "missing"


def test_ids_sort_by_creation_time() -> None:
    assert new_id(1000.0) < new_id(1000.002) < new_id(2000.0)


def test_claim_moves_queued_to_running(store: Store) -> None:
    exp_id = store.create(SPEC).id
    c = claim(store, exp_id)
    assert (c.outcome, c.attempt) == ("run", 1)
    record = store.get(exp_id)
    assert record.status == "running"
    assert record.attempts == 1
    assert record.worker == "w1"
    assert record.started_at is not None
    assert store.counts()["running"] == 1
    assert store.counts()["queued"] == 0


def test_redelivery_while_the_lease_is_alive_is_refused(store: Store) -> None:
    exp_id = running(store)
    c = claim(store, exp_id)
    assert c.outcome == "busy"
    assert 0 < c.wait_s <= LEASE
    assert store.get(exp_id).attempts == 1


def test_redelivery_after_the_lease_lapses_counts_an_attempt(store: Store) -> None:
    exp_id = running(store)
    later = time.time() + LEASE + 1
    c = claim(store, exp_id, now=later)
    assert (c.outcome, c.attempt) == ("run", 2)
    record = store.get(exp_id)
    assert (record.status, record.attempts) == ("running", 2)
    # The first attempt, if it still lives, may no longer write.
    assert store.renew(exp_id, 1, lease_s=LEASE, progress={"step": 5}) is True
    assert store.finish(exp_id, "succeeded", attempt=1) is False
    assert store.renew(exp_id, 2, lease_s=LEASE, progress={"step": 5}) is False


def test_a_worker_that_keeps_dying_ends_failed_with_the_reason(store: Store) -> None:
    exp_id = running(store)
    now = time.time()
    for attempt in (2, 3):
        now += LEASE + 1
        assert claim(store, exp_id, now=now).attempt == attempt
    now += LEASE + 1
    c = claim(store, exp_id, now=now)
    assert (c.outcome, c.attempt) == ("failed", 3)
    record = store.get(exp_id)
    assert record.status == "failed"
    assert record.error == "worker died 3 times while running this experiment"
    assert claim(store, exp_id, now=now + LEASE + 1).outcome == "final"


def test_renew_writes_progress_and_a_partial_result(store: Store) -> None:
    exp_id = running(store)
    progress = {"step": 3, "total_steps": 10, "epoch": 1, "fraction": 0.3}
    assert (
        store.renew(exp_id, 1, lease_s=LEASE, progress=progress, result=encode_result(result(1.5)))
        is False
    )
    assert store.get(exp_id).progress == progress
    stored = store.result_bytes(exp_id)
    assert stored is not None
    assert not stored.final
    assert stored.etag is None
    assert decode_result(stored.data) == result(1.5)


def test_finish_stores_the_final_result_with_retention(store: Store) -> None:
    exp_id = running(store)
    data = encode_result(result(2.0))
    assert store.finish(exp_id, "succeeded", attempt=1, result=data, summary={"steps_run": 7})
    record = store.get(exp_id)
    assert record.status == "succeeded"
    assert record.summary == {"steps_run": 7}
    assert record.finished_at is not None
    assert record.error is None
    stored = store.result_bytes(exp_id)
    assert stored is not None
    assert stored.final
    assert stored.etag
    assert store.load_result(exp_id) == result(2.0)
    keys = store.experiment_keys(exp_id)
    hash_key, result_key = keys.record, keys.result
    assert 0 < store.redis.ttl(hash_key) <= 3600
    assert 0 < store.redis.ttl(result_key) <= 3600


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_a_final_state_is_never_overwritten(store: Store, final: Status) -> None:
    exp_id = finished(store, final)
    later = time.time() + LEASE + 1
    assert claim(store, exp_id, now=later).outcome == "final"
    for target in ("succeeded", "failed", "cancelled"):
        assert not store.finish(exp_id, target, attempt=None, allowed_from=("running", "queued"))
    assert store.renew(exp_id, 1, lease_s=LEASE, progress={"step": 1}) is True
    with pytest.raises(Conflict):
        store.request_cancel(exp_id)
    assert store.get(exp_id).status == final


def test_finish_is_refused_from_queued_unless_allowed(store: Store) -> None:
    exp_id = store.create(SPEC).id
    assert not store.finish(exp_id, "succeeded", attempt=None)
    assert store.get(exp_id).status == "queued"
    assert store.finish(exp_id, "failed", attempt=None, allowed_from=("queued",), error="bad")
    assert store.get(exp_id).error == "bad"


def test_cancel_a_queued_experiment_at_once(store: Store) -> None:
    exp_id = store.create(SPEC).id
    assert store.request_cancel(exp_id) == "cancelled"
    assert store.get(exp_id).status == "cancelled"
    # The task, delivered later, must not start it.
    assert claim(store, exp_id).outcome == "final"


def test_cancel_a_running_experiment_raises_the_flag(store: Store) -> None:
    exp_id = running(store)
    assert store.request_cancel(exp_id) == "cancelling"
    assert store.cancel_requested(exp_id)
    record = store.get(exp_id)
    assert record.status == "running"
    assert record.cancel_requested_at is not None
    assert store.renew(exp_id, 1, lease_s=LEASE) is True
    assert store.finish(exp_id, "cancelled", attempt=1)
    assert store.get(exp_id).status == "cancelled"
    assert not store.cancel_requested(exp_id)


def test_a_cancelled_run_whose_worker_died_ends_cancelled(store: Store) -> None:
    exp_id = running(store)
    store.request_cancel(exp_id)
    assert claim(store, exp_id, now=time.time() + LEASE + 1).outcome == "cancelled"
    assert store.get(exp_id).status == "cancelled"


@pytest.mark.parametrize("state", ["queued", "running"])
def test_delete_refuses_live_experiments(store: Store, state: str) -> None:
    exp_id = store.create(SPEC).id if state == "queued" else running(store)
    with pytest.raises(Conflict, match=state):
        store.delete(exp_id)
    assert store.get(exp_id).status == state


def test_delete_forgets_a_finished_experiment(store: Store) -> None:
    exp_id = running(store)
    store.finish(exp_id, "succeeded", attempt=1, result=encode_result(result(1.0)))
    store.delete(exp_id)
    assert store.find(exp_id) is None
    assert store.list_experiments().items == []
    keys = store.experiment_keys(exp_id)
    assert not store.redis.exists(keys.record, keys.result, keys.cancel)


def test_listing_is_newest_first_with_a_cursor(store: Store) -> None:
    t0 = time.time()
    ids = [store.create(SPEC, now=t0 + i * 0.01).id for i in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = store.list_experiments(limit=2, cursor=cursor)
        assert len(page.items) <= 2
        seen += [r.id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids[::-1]


def test_listing_filters_by_status(store: Store) -> None:
    a = store.create(SPEC).id
    b = running(store)
    c = finished(store, "cancelled")
    assert [r.id for r in store.list_experiments(status="queued").items] == [a]
    assert [r.id for r in store.list_experiments(status="running").items] == [b]
    assert [r.id for r in store.list_experiments(status="cancelled").items] == [c]
    assert store.list_experiments(status="succeeded").items == []
    assert [r.id for r in store.list_experiments().items] == [c, b, a]


def test_retention_prunes_expired_entries_from_the_indexes(store: Store) -> None:
    exp_id = finished(store, "succeeded")
    assert store.prune() == 0
    assert store.prune(now=time.time() + 3601) == 1
    # Redis drops the record itself when its TTL runs out; simulate that moment.
    keys = store.experiment_keys(exp_id)
    store.redis.delete(keys.record, keys.result)
    assert store.list_experiments().items == []
    assert store.counts()["succeeded"] == 0


def test_listing_skips_records_that_expired_between_prunes(store: Store) -> None:
    keep = store.create(SPEC).id
    gone = store.create(SPEC).id
    store.redis.delete(store.experiment_keys(gone).record)
    assert [r.id for r in store.list_experiments(limit=1).items] == [keep]


def test_worker_heartbeats_lapse(store: Store) -> None:
    store.beat("w1", ttl_s=5)
    store.beat("w2", ttl_s=50)
    assert sorted(store.alive_workers()) == ["w1", "w2"]
    assert store.alive_workers(now=time.time() + 10) == ["w2"]
    store.worker_gone("w2")
    assert store.alive_workers() == []


def test_blobs_round_trip(store: Store) -> None:
    assert store.get_blob("plots", "x") is None
    store.put_blob("plots", "x", b"\x89PNG", ttl_s=60)
    assert store.get_blob("plots", "x") == b"\x89PNG"
    store.delete_blob("plots", "x")
    assert store.get_blob("plots", "x") is None


def test_queue_depth_counts_the_broker_list(store: Store) -> None:
    queue = f"{store.prefix}-queue"
    assert store.queue_depth(queue) == 0
    store.redis.lpush(queue, "a", "b")
    assert store.queue_depth(queue) == 2
    store.redis.delete(queue)


def test_an_unreachable_redis_is_store_unavailable() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = Store(connect(f"redis://127.0.0.1:{port}/0", socket_timeout_s=0.5))
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        down.ping()
    with pytest.raises(StoreUnavailable):
        down.create(SPEC)
    with pytest.raises(StoreUnavailable):
        down.list_experiments()


def test_release_hands_a_run_back_without_counting_an_attempt(store: Store) -> None:
    exp_id = running(store)
    assert store.release(exp_id, 2) is False  # not this attempt's
    assert store.release(exp_id, 1) is True
    c = claim(store, exp_id)  # at once: the lease ended with the release
    assert (c.outcome, c.attempt) == ("run", 1)
    assert store.get(exp_id).attempts == 1


def test_draining_flags(store: Store) -> None:
    assert not store.draining("w1")
    store.set_draining("w1", ttl_s=60)
    assert store.draining("w1")
    assert not store.draining("w2")


def test_a_restarted_worker_of_the_same_name_is_not_draining(store: Store) -> None:
    # A worker killed during its shutdown leaves its flag; its successor has its name.
    store.set_draining("celery@host", ttl_s=3600)
    store.worker_started("celery@host", ttl_s=5)
    assert not store.draining("celery@host")
    assert store.alive_workers() == ["celery@host"]
    store.set_draining("celery@host", ttl_s=3600)
    store.worker_gone("celery@host")  # a clean shutdown spends the flag too
    assert not store.draining("celery@host")
    assert store.alive_workers() == []


def test_ids_made_in_a_burst_strictly_increase() -> None:
    ids = [new_id() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_the_async_reader_reads_what_the_store_wrote(store: Store, redis_server: Any) -> None:
    exp_id = running(store)
    assert store.renew(exp_id, 1, lease_s=LEASE, progress={"step": 1}, result=b"partial") is False

    async def read() -> tuple[ExperimentRecord, StoredResult | None]:
        reader = AsyncReader(redis_server.url, prefix=store.prefix)
        try:
            return await reader.get(exp_id), await reader.result_bytes(exp_id)
        finally:
            await reader.aclose()

    record, stored = asyncio.run(read())
    assert (record.id, record.status) == (exp_id, "running")
    assert stored is not None
    assert (stored.data, stored.final, stored.etag) == (b"partial", False, None)


def test_concurrent_async_reads_share_round_trips_and_each_gets_its_own_record(
    store: Store, redis_server: Any
) -> None:
    ids = [running(store) for _ in range(20)]
    asked = [*ids, *reversed(ids), "f" * 24, *ids]

    async def read() -> tuple[list[ExperimentRecord | BaseException], int]:
        reader = AsyncReader(redis_server.url, prefix=store.prefix)
        try:
            await reader.get(ids[0])  # connect first: the batches below are the reads
            batches = reader._batched()
            before = batches.round_trips
            got = await asyncio.gather(*(reader.get(i) for i in asked), return_exceptions=True)
            return list(got), batches.round_trips - before
        finally:
            await reader.aclose()

    got, pipelines = asyncio.run(read())
    for exp_id, record in zip(asked, got, strict=True):
        if exp_id == "f" * 24:
            assert isinstance(record, NotFound)
        else:
            assert isinstance(record, ExperimentRecord), record
            assert (record.id, record.status) == (exp_id, "running")
    assert 1 <= pipelines < len(asked) // 4  # reads issued together went out together


def test_an_unreachable_redis_is_store_unavailable_to_the_async_reader_too() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    reader = AsyncReader(f"redis://127.0.0.1:{port}/0", prefix="x", socket_timeout_s=0.5)

    async def read() -> None:
        try:
            await reader.get("0" * 24)
        finally:
            await reader.aclose()

    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        asyncio.run(read())


@pytest.mark.parametrize(
    ("reply", "unavailable"),
    [
        ("LOADING Redis is loading the dataset in memory", True),
        ("OOM command not allowed when used memory > 'maxmemory'", True),
        ("WRONGTYPE Operation against a key holding the wrong kind of value", False),
    ],
)
def test_the_guard_tells_a_down_redis_from_a_wrong_request(reply: str, unavailable: bool) -> None:
    expected: type[Exception] = StoreUnavailable if unavailable else redis.ResponseError
    with pytest.raises(expected, match=reply.split()[0]), guard():
        raise redis.ResponseError(reply)


def test_sweep_listing_pages_newest_first_and_skips_expired(store: Store) -> None:
    sweeps = SweepStore(store)
    ids = [
        sweeps.create(new_id(), name=f"s{i}", base={}, grid={}, children=[]).id for i in range(5)
    ]
    store.redis.delete(f"{store.prefix}:sweep:{ids[2]}")  # as if its retention ran out
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = sweeps.list_sweeps(limit=2, cursor=cursor)
        assert len(page.items) == 2 or page.next_cursor is None
        seen += [r.id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [ids[4], ids[3], ids[1], ids[0]]
    assert not store.redis.zscore(f"{store.prefix}:index:sweeps", ids[2])  # dropped


# --- stuck records and recovery ----------------------------------------------


def test_cancel_of_a_run_whose_worker_died_ends_it_at_once(store: Store) -> None:
    exp_id = running(store)
    later = time.time() + LEASE + 1  # nobody renewed the lease
    assert store.request_cancel(exp_id, now=later) == "cancelled"
    record = store.get(exp_id)
    assert record.status == "cancelled"
    assert store.counts()["running"] == 0


def test_a_stuck_run_can_be_deleted_a_live_one_cannot(store: Store) -> None:
    exp_id = running(store)
    with pytest.raises(Conflict, match="running"):
        store.delete(exp_id)
    store.delete(exp_id, now=time.time() + LEASE + 1)
    assert store.find(exp_id) is None
    assert store.counts()["running"] == 0


def test_strays_are_old_queued_records_and_runs_with_a_lapsed_lease(store: Store) -> None:
    now = time.time()
    queued = store.create(SPEC, now=now - 60).id
    fresh = store.create(SPEC).id
    live = running(store)
    lapsed = store.create(SPEC, now=now - 60).id
    assert claim(store, lapsed, now=now - LEASE - 5).outcome == "run"
    found = {(s.id, s.status) for s in store.strays(now=now, grace_s=10)}
    assert found == {(queued, "queued"), (lapsed, "running")}
    assert fresh not in {s.id for s in store.strays(now=now, grace_s=10)}
    assert live not in {s.id for s in store.strays(now=now, grace_s=10)}


def test_a_redispatch_is_noted_once_per_grace_period(store: Store) -> None:
    now = time.time()
    exp_id = store.create(SPEC, now=now - 60).id
    assert store.mark_redispatched(exp_id, grace_s=10, now=now)
    assert not store.mark_redispatched(exp_id, grace_s=10, now=now + 5)
    assert store.strays(now=now + 5, grace_s=10) == []
    assert store.mark_redispatched(exp_id, grace_s=10, now=now + 11)
    live = running(store)
    assert not store.mark_redispatched(live, grace_s=0)  # its worker holds the lease
    done = finished(store, "succeeded")
    assert not store.mark_redispatched(done, grace_s=0)


def test_message_ids_reads_the_queue_and_recent_unacked_messages(store: Store) -> None:
    from core.store import BrokerKeys

    def message(task_id: str) -> str:
        return json.dumps({"body": "", "headers": {"id": task_id, "task": "t"}, "properties": {}})

    p = store.prefix
    keys = BrokerKeys([f"{p}q", f"{p}q\x06\x163"], f"{p}unacked", f"{p}unacked_index")
    r = store.redis
    r.lpush(keys.lists[0], message("a"), "not json")
    r.lpush(keys.lists[1], message("b"))
    now = time.time()
    for tag, task_id, at in (("t1", "c", now - 1), ("t2", "old", now - 100)):
        r.hset(keys.unacked, tag, json.dumps([json.loads(message(task_id)), "", "q"]))
        r.zadd(keys.unacked_index, {tag: at})
    assert store.message_ids(keys, delivered_after=now - 30) == {"a", "b", "c"}
