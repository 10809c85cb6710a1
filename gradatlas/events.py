"""Following a run over the service's server-sent events, without I/O.

``Client.wait`` and ``AsyncClient.wait`` (and their ``wait_sweep``) open
``GET .../events`` and feed its lines to an :class:`EventParser`; a
:class:`Follower` folds each event into the last experiment (or sweep) seen,
so ``on_progress`` gets the same shape as when polling. Whenever the stream
cannot be had (an older service, a proxy that buffers, a dropped connection)
the clients fall back to polling for the time that is left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Generic, cast

from gradatlas.errors import WaitTimeout
from gradatlas.protocol import Polled

EVENT_STREAM = "text/event-stream"
#: Seconds without a byte after which a stream counts as dropped (the service sends a
#: keep-alive comment every 15 s).
STALL_S = 40.0


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: str
    id: str | None = None


@dataclass
class EventParser:
    """The text/event-stream format, one line at a time (WHATWG HTML § 9.2.6)."""

    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None

    def feed(self, line: str) -> ServerEvent | None:
        """Take one line (without its end of line); an event when ``line`` ends one."""
        if not line:
            if not self._data:
                self._event = ""
                return None
            done = ServerEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return done
        if line.startswith(":"):  # a comment: the keep-alive
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None


class Follower(Generic[Polled]):
    """The last body seen of an experiment or a sweep, kept up to date by its events."""

    def __init__(self, body: Polled, *, final: frozenset[str], what: str, timeout: float) -> None:
        self.body: Polled = body
        self.final, self.what, self.timeout = final, what, timeout
        self.deadline = time.monotonic() + timeout
        #: True at ``end``, whose body is the final one (a final ``status`` comes before it).
        self.done = body["status"] in final

    def left(self) -> float:
        """Seconds to the deadline; ``WaitTimeout`` once it has passed."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeout(f"{self.what} still {self.body['status']} after {self.timeout} s")
        return left

    def apply(self, e: ServerEvent) -> bool:
        """Fold in one event; True when the body changed (``on_progress`` is due)."""
        import json

        if e.event not in ("status", "progress", "child", "end"):
            return False  # records and metrics: the statistics, not where it stands
        data = json.loads(e.data)
        body: dict[str, Any] = dict(self.body)
        if e.event == "end":
            body, self.done = data, True
        elif e.event == "status":
            body["status"] = data["status"]
        elif e.event == "child":
            body["children"] = [data if r["id"] == data["id"] else r for r in body["children"]]
        elif "counts" in data:  # a sweep's progress
            body["progress"], body["counts"] = data["progress"], data["counts"]
        else:
            body["progress"] = data
        self.body = cast(Polled, body)
        return True
