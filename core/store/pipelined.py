"""Record reads on a connection of their own: ``HGETALL``s pipelined, parsed by hiredis.

Status polling is most of the API's traffic, and redis-py's asyncio pipeline costs
more per read than the rest of the request does (a pipeline object per batch, a
timeout scope and a parser call per reply). Here a read is a future and a few
bytes: the reads asked for during one turn of the event loop go out in one write,
and the replies, parsed by hiredis as they arrive, answer them in order. Each
request still reads its record after it arrived; nothing is cached or shared
between requests.

Failures look as they do through redis-py (``guard`` turns them into
``StoreUnavailable``): ``redis.ConnectionError`` when the connection cannot be made
or drops (a read it broke is retried once on a new one, as ``connect``'s single
retry does), ``redis.TimeoutError`` when a reply is later than the socket timeout,
``redis.ResponseError`` for an error reply. Only plain ``redis://`` URLs (TCP,
optional user and password, database number) come here; ``AsyncReader`` reads
the others through redis-py.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import hiredis
import redis
from redis.connection import parse_url


def _bulk(arg: str | int) -> bytes:
    b = str(arg).encode()
    return b"$%d\r\n%s\r\n" % (len(b), b)


def pack(*args: str | int) -> bytes:
    """One command in RESP: an array of bulk strings."""
    return b"*%d\r\n" % len(args) + b"".join(_bulk(a) for a in args)


#: ``HGETALL`` but its key, packed once.
_HGETALL = b"*2\r\n" + _bulk("HGETALL")


class ReplyStream(asyncio.Protocol):
    """One connection: commands written once per loop turn, replies matched in order."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.closed = False
        #: Writes made (each a round trip for every command it carried).
        self.writes = 0
        self._reader = hiredis.Reader(encoding="utf-8", replyError=redis.ResponseError)
        #: Unanswered commands, oldest first: the future and when it was sent.
        self._waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._out: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def send(self, *args: str | int) -> asyncio.Future[Any]:
        """The reply to one command, once it comes."""
        return self.send_packed(pack(*args))

    def send_packed(self, command: bytes) -> asyncio.Future[Any]:
        """``send`` of a command already in RESP (see ``pack``)."""
        if self.closed:
            raise redis.ConnectionError("Connection closed.")
        future: asyncio.Future[Any] = self._loop.create_future()
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(command)
        self._waiting.append((future, self._loop.time()))
        if self._timer is None:
            self._timer = self._loop.call_later(self.timeout_s, self._expire)
        return future

    def _flush(self) -> None:
        if self._transport is not None and not self.closed:
            self._transport.write(b"".join(self._out))
            self.writes += 1
        self._out.clear()

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        waiting = self._waiting
        while (reply := self._reader.gets()) is not False:
            future, _ = waiting.popleft()
            if future.done():  # its request went away
                continue
            if isinstance(reply, redis.ResponseError):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(redis.ConnectionError("Connection closed by server."))

    def _expire(self) -> None:
        """Every socket timeout while replies are awaited: give up on a late one."""
        self._timer = None
        if not self._waiting:
            return
        due = self._waiting[0][1] + self.timeout_s
        if self._loop.time() >= due:
            self._fail(redis.TimeoutError("Timeout reading from socket"))
        else:
            self._timer = self._loop.call_at(due, self._expire)

    def _fail(self, error: Exception) -> None:
        """Answer everything still waiting with ``error`` and drop the connection."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting:
            future, _ = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)
        if self._transport is not None:
            self._transport.abort()

    def close(self) -> None:
        self._fail(redis.ConnectionError("Connection closed."))


class PipelinedReads:
    """``HGETALL`` over one :class:`ReplyStream`, made (again) when needed; one per loop."""

    def __init__(self, url: str, *, socket_timeout_s: float) -> None:
        opts: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        self.host: str = opts.get("host") or "localhost"
        self.port = int(opts.get("port") or 6379)
        self.db = int(opts.get("db") or 0)
        self.username: str | None = opts.get("username")
        self.password: str | None = opts.get("password")
        self.timeout_s = socket_timeout_s
        self._stream: ReplyStream | None = None
        self._lock = asyncio.Lock()
        self._past_writes = 0

    @property
    def round_trips(self) -> int:
        """Writes to Redis so far, each carrying every read asked for in one loop turn."""
        return self._past_writes + (self._stream.writes if self._stream else 0)

    @staticmethod
    def serves(url: str) -> bool:
        """Whether ``url`` is one this class connects to (plain TCP, no TLS or socket)."""
        try:
            opts: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        except ValueError:
            return False
        return url.startswith("redis://") and "connection_class" not in opts

    async def hgetall(self, key: str) -> dict[str, str]:
        command = _HGETALL + _bulk(key)
        stream = self._stream
        if stream is None or stream.closed:
            stream = await self._connect()
        try:
            reply: list[str] = await stream.send_packed(command)
        except redis.ConnectionError:
            # A connection broken under it (a Redis restart): once more, on a new one.
            reply = await (await self._connect()).send_packed(command)
        it = iter(reply)
        return dict(zip(it, it, strict=True))

    async def _connect(self) -> ReplyStream:
        async with self._lock:
            if self._stream is None or self._stream.closed:
                if self._stream is not None:
                    self._past_writes += self._stream.writes
                    self._stream = None
                self._stream = await self._open()
            return self._stream

    async def _open(self) -> ReplyStream:
        loop = asyncio.get_running_loop()
        timeout = self.timeout_s
        try:
            async with asyncio.timeout(min(timeout, 1.0)):
                _, stream = await loop.create_connection(
                    lambda: ReplyStream(timeout), self.host, self.port
                )
        except TimeoutError as e:
            raise redis.TimeoutError("Timeout connecting to server") from e
        except OSError as e:
            raise redis.ConnectionError(f"Error connecting: {e.strerror}") from e
        hello = []
        if self.password is not None:
            user = [self.username] if self.username else []
            hello.append(stream.send("AUTH", *user, self.password))
        if self.db:
            hello.append(stream.send("SELECT", self.db))
        try:
            for reply in hello:
                await reply
        except redis.ResponseError as e:
            stream.close()
            raise redis.AuthenticationError(str(e).split(" ", 1)[0]) from e
        return stream

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
