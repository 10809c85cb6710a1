"""Load test: 100 concurrent pollers and a steady stream of submissions, on loopback.

    .venv/bin/python bench/load.py                 # 60 s (about 2 minutes in all)
    .venv/bin/python bench/load.py --seconds 10    # a quick look

Starts the service as `make run` does (scripts/run.sh, through bench/api.py's ``stack``)
with an API key and the rate limiter on (its limit out of reach, so its cost is
measured but it never refuses), then for ``--seconds``: ``--pollers`` clients each
poll an experiment every ``--poll-s`` seconds, while one client submits a small
experiment every ``--submit-s`` seconds. Afterwards every accepted experiment must
reach a final status (bounded wait). Prints a markdown table: throughput, p50/p99 of
polls and submissions, 5xx and other errors, accepted, finished and lost.
Exits 1 if there was any 5xx or any accepted experiment was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.api import TINY, stack
from bench.http_load import pct

FINAL = {"succeeded", "failed", "cancelled"}


@dataclass
class Tally:
    poll_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    accepted: list[str] = field(default_factory=list)


async def poller(c: httpx.AsyncClient, t: Tally, until: float, every: float) -> None:
    await asyncio.sleep(random.uniform(0, every))  # spread the pollers over the interval
    while time.monotonic() < until:
        if t.accepted:
            exp_id = random.choice(t.accepted[-20:])  # recent ones: the ones being watched
            start = time.perf_counter()
            try:
                r = await c.get(f"/v1/experiments/{exp_id}")
            except httpx.TransportError:
                t.transport_errors += 1
            else:
                t.poll_ms.append((time.perf_counter() - start) * 1000)
                t.statuses[r.status_code] += 1
        await asyncio.sleep(every)


async def submitter(c: httpx.AsyncClient, t: Tally, until: float, every: float) -> None:
    n = 0
    next_at = time.monotonic()
    while time.monotonic() < until:
        start = time.perf_counter()
        try:
            r = await c.post("/v1/experiments", json={**TINY, "seed": n})
        except httpx.TransportError:
            t.transport_errors += 1
        else:
            t.submit_ms.append((time.perf_counter() - start) * 1000)
            t.statuses[r.status_code] += 1
            if r.status_code == 202:
                t.accepted.append(r.json()["id"])
        n += 1
        next_at += every
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def settle(c: httpx.AsyncClient, ids: list[str], timeout: float) -> Counter[str]:
    """Each accepted experiment's final status ('lost' if it never got one in time)."""
    deadline = time.monotonic() + timeout
    outcome: dict[str, str] = {}
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        still = []
        for exp_id in pending:
            r = await c.get(f"/v1/experiments/{exp_id}")
            status = r.json().get("status") if r.status_code == 200 else f"http {r.status_code}"
            if status in FINAL or r.status_code != 200:
                outcome[exp_id] = str(status)
            else:
                still.append(exp_id)
        pending = still
        if pending:
            await asyncio.sleep(0.5)
    return Counter({**{i: "lost" for i in pending}, **outcome}.values())


async def run(base: str, key: str, a: argparse.Namespace) -> tuple[Tally, Counter[str], float]:
    t = Tally()
    limits = httpx.Limits(max_connections=a.pollers + 10, max_keepalive_connections=a.pollers + 10)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as c:
        start = time.monotonic()
        until = start + a.seconds
        await asyncio.gather(
            submitter(c, t, until, a.submit_s),
            *(poller(c, t, until, a.poll_s) for _ in range(a.pollers)),
        )
        elapsed = time.monotonic() - start
        finals = await settle(c, t.accepted, timeout=a.settle_s)
    return t, finals, elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=60.0, help="length of the load (60)")
    p.add_argument("--pollers", type=int, default=100, help="concurrent pollers (100)")
    p.add_argument("--poll-s", type=float, default=0.1, help="each poller's interval (0.1 s)")
    p.add_argument("--submit-s", type=float, default=0.5, help="between submissions (0.5 s)")
    p.add_argument("--settle-s", type=float, default=180.0, help="wait for finals (180 s)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    a = p.parse_args()
    key = secrets.token_urlsafe(24)
    os.environ.update(
        {
            "GRADATLAS_API_KEYS": f"bench={key}",
            "GRADATLAS_RATE_LIMIT_PER_MIN": "100000000",  # counted, never reached
            "GRADATLAS_MAX_ACTIVE_PER_TENANT": "100000",
        }
    )
    with stack(concurrency=a.workers) as base:
        t, finals, elapsed = asyncio.run(run(base, key, a))
    requests = sum(t.statuses.values())
    fives = sum(n for s, n in t.statuses.items() if s >= 500)
    others = {s: n for s, n in t.statuses.items() if s not in (200, 202) and s < 500}
    lost = finals.get("lost", 0) + sum(n for s, n in finals.items() if s.startswith("http"))
    rows = [
        ("duration; pollers; submission interval", f"{elapsed:.0f} s; {a.pollers}; {a.submit_s} s"),
        ("requests (throughput)", f"{requests} ({requests / elapsed:.0f} req/s)"),
        (
            "GET /v1/experiments/{id} p50 / p99",
            f"{pct(t.poll_ms, 50):.1f} / {pct(t.poll_ms, 99):.1f} ms (n={len(t.poll_ms)})",
        ),
        (
            "POST /v1/experiments p50 / p99",
            f"{pct(t.submit_ms, 50):.1f} / {pct(t.submit_ms, 99):.1f} ms (n={len(t.submit_ms)})",
        ),
        ("5xx answers", str(fives)),
        ("other non-2xx answers", str(others or 0)),
        ("transport errors", str(t.transport_errors)),
        ("experiments accepted", str(len(t.accepted))),
        ("final statuses", ", ".join(f"{s} {n}" for s, n in sorted(finals.items()))),
        ("lost (not final after the wait, or gone)", str(lost)),
    ]
    print(f"\ncores: {os.cpu_count()}; python {sys.version.split()[0]}\n")
    print("| measure | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    return 1 if fives or lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
