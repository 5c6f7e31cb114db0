"""The delivery worker of one shard: push-based, per-document ordered, bounded per trigger.

Woken by the storage's commit hook (so an event is attempted as soon as its change commits,
no polling interval), by finished attempts and by its own timer for the next retry. Each wake
reads the pending events this shard delivers (those it owns, and those of primaries it has
taken over) in outbox order and starts, per (trigger, document), only the oldest one, so events
of one document go out in version order and a later one waits while an earlier one is retried.
Different documents go in parallel, at most `concurrency` requests per trigger.

Outcome of an attempt: 2xx delivered; 410 disables the trigger (its events stay queued until
it is resumed); anything else (3xx included: redirects are not followed), a timeout or a
connection error is retried after an exponential backoff with jitter, or after Retry-After
on 429 and 503; after `max_retries` retries the event is dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

import orjson
from opentelemetry.trace import SpanKind

from shards.storage import ShardStorage
from shards.telemetry.tracing import Tracing, fail
from shards.triggers import payload, signing
from shards.triggers.backoff import backoff_ms, retry_after_ms
from shards.triggers.definitions import TriggerDef
from shards.triggers.outbox import SELECT_EVENTS, Event

log = logging.getLogger("shardgate.triggers")

SCAN_LIMIT = 2000  # pending rows one scan reads at most
SCAN_PAGE = 128


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    retry_after: str | None = None


# Sends one request: (url, body, headers, timeout_s) -> Response; raises on network errors.
Send = Callable[[str, bytes, dict[str, str], float], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Attempt:
    status: str  # delivered | retry | dead | disabled
    code: int | None
    latency_ms: float
    error: str | None
    next_ms: int


class Deliverer:
    def __init__(
        self,
        shard_id: str,
        storage: ShardStorage,
        reader: sqlite3.Connection,
        send: Send,
        *,
        triggers: Callable[[], dict[str, TriggerDef]],
        owners: Callable[[], Collection[str]],
        concurrency: Callable[[], int],
        on_delivered: Callable[[Event], None] = lambda _e: None,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        rand: Callable[[], float] = random.random,
        tracing: Tracing | None = None,
    ) -> None:
        self.shard_id = shard_id
        self._tracing = tracing or Tracing.off()
        self._storage = storage
        self._reader = reader
        self._send = send
        self._triggers = triggers
        self._owners = owners
        self._concurrency = concurrency
        self._on_delivered = on_delivered
        self._now_ms = now_ms
        self._rand = rand
        self._wake = asyncio.Event()
        self._inflight: set[tuple[str, str, str]] = set()
        self._per_trigger: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.disabled: dict[str, str] = {}  # trigger -> why (a 410)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                next_due = self.scan()
            except Exception:  # the worker must outlive any one bad round
                log.exception("trigger delivery scan failed")
                next_due = self._now_ms() + 1000
            timeout = None if next_due is None else max(0, next_due - self._now_ms()) / 1000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def settle(self) -> None:
        """Wait for the attempts in flight (tests step the worker with scan() and this)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def scan(self) -> int | None:
        """Start every event that may go now; returns when the next one is due (ms)."""
        owners = list(self._owners())
        triggers = self._triggers()
        limit = self._concurrency()
        # Paused and disabled triggers' events wait in the outbox without costing a scan;
        # so do those of triggers at their concurrency bound (a finishing attempt wakes us).
        active = [
            name
            for name, t in triggers.items()
            if not t.paused and name not in self.disabled and self._per_trigger.get(name, 0) < limit
        ]
        if not owners or not active:
            return None
        now = self._now_ms()
        seen: set[tuple[str, str, str]] = set()
        next_due: int | None = None
        starting: dict[int, TriggerDef] = {}
        room = {name: limit - self._per_trigger.get(name, 0) for name in active}
        free = sum(room.values())
        after, scanned, exhausted = -1, 0, False
        # Page by page, light columns first, and only until every trigger's room is filled:
        # under a backlog a scan reads a few rows beyond what it starts, not the whole queue.
        while free > 0 and scanned < SCAN_LIMIT:
            rows = self._reader.execute(
                "SELECT seq, trigger, collection, key, next_ms FROM trigger_events"
                f" WHERE status = 'pending' AND owner IN ({', '.join('?' * len(owners))})"
                f" AND trigger IN ({', '.join('?' * len(active))}) AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (*owners, *active, after, SCAN_PAGE),
            ).fetchall()
            scanned += len(rows)
            for seq, name, collection, key, next_ms in rows:
                doc = (name, collection, key)
                if doc in seen:  # an older event of this document is pending: it goes first
                    continue
                seen.add(doc)
                if doc in self._inflight or room[name] <= 0:
                    continue
                if next_ms > now:
                    next_due = next_ms if next_due is None else min(next_due, next_ms)
                    continue
                room[name] -= 1
                free -= 1
                starting[seq] = triggers[name]
            if len(rows) < SCAN_PAGE:
                exhausted = True
                break
            after = rows[-1][0]
        if starting:
            for row in self._reader.execute(
                f"{SELECT_EVENTS} WHERE e.seq IN (SELECT value FROM json_each(?))",
                (orjson.dumps(list(starting)).decode(),),
            ):
                event = Event.from_row(row)
                self._start(event, starting[event.seq])
        if not exhausted and free > 0:
            return now + 100  # more than one window is pending: look again soon
        return next_due

    def _start(self, event: Event, trigger: TriggerDef) -> None:
        doc = (event.trigger, event.collection, event.key)
        self._inflight.add(doc)
        self._per_trigger[trigger.name] = self._per_trigger.get(trigger.name, 0) + 1
        task = asyncio.create_task(self._deliver(event, trigger))
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._inflight.discard(doc)
            self._per_trigger[trigger.name] -= 1
            self.wake()

        task.add_done_callback(done)

    async def _deliver(self, event: Event, trigger: TriggerDef) -> None:
        attempt = await self.attempt(event, trigger)
        if attempt.status == "disabled":
            self.disabled[trigger.name] = f"the receiver answered 410 Gone to event {event.id}"
            log.warning("trigger %s disabled: its receiver answered 410 Gone", trigger.name)
        try:
            await self._storage.execute(lambda db: record(db, self.shard_id, event, attempt))
        except Exception:  # e.g. the storage closing: the event stays pending, sent again
            log.exception("could not record a delivery attempt of event %s", event.id)
            return
        if attempt.status == "delivered":
            self._on_delivered(event)

    async def attempt(self, event: Event, trigger: TriggerDef) -> Attempt:
        """One delivery attempt; traced as a CLIENT span (a trace of its own) whose
        `traceparent` the receiver gets, with the trigger and event, never the URL."""
        attributes = {
            "shardgate.trigger.name": trigger.name,
            "shardgate.event.id": event.id,
            "shardgate.event.retry": event.tries,
        }
        with self._tracing.span(f"webhook {trigger.name}", SpanKind.CLIENT, attributes) as span:
            attempt = await self._attempt(event, trigger)
            if attempt.code is not None:
                span.set_attribute("http.response.status_code", attempt.code)
            if attempt.status != "delivered":  # the error's type only: its text names hosts
                reason = f"HTTP {attempt.code}" if attempt.code else (attempt.error or "")
                fail(span, f"{attempt.status}: {reason.partition(':')[0]}")
            return attempt

    async def _attempt(self, event: Event, trigger: TriggerDef) -> Attempt:
        now = self._now_ms()
        started = time.perf_counter()
        code: int | None = None
        retry_after: int | None = None
        try:
            body = payload.build(event, trigger, current_retry=event.tries)
            headers = {
                **trigger.resolve_headers(),
                "content-type": "application/json",
                **signing.headers(trigger.secret, event.id, now // 1000, body),
            }
            self._tracing.inject(headers)
            url = trigger.resolve_url()
            response = await self._send(url, body, headers, trigger.retry.timeout_s)
        except Exception as e:  # network, timeout, refused address, missing URL variable...
            error: str | None = _describe(e)
        else:
            code, error = response.status, None
            if code in (429, 503):
                retry_after = retry_after_ms(response.retry_after, now)
        latency = (time.perf_counter() - started) * 1000
        if code is not None and 200 <= code < 300:
            return Attempt("delivered", code, latency, None, 0)
        if code == 410:
            return Attempt("disabled", code, latency, "410 Gone: trigger disabled", 0)
        if code is not None:
            error = f"HTTP {code}"
        if event.tries >= trigger.retry.max_retries:
            return Attempt("dead", code, latency, error, 0)
        delay = retry_after
        if delay is None:
            delay = backoff_ms(trigger.retry, event.tries, self._rand)
        return Attempt("retry", code, latency, error, self._now_ms() + delay)


def record(db: sqlite3.Connection, shard_id: str, event: Event, attempt: Attempt) -> None:
    now = int(time.time() * 1000)
    db.execute(
        "INSERT INTO trigger_attempts(event_id, at_ms, shard, retry, status, code, latency_ms,"
        " error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.id,
            now,
            shard_id,
            event.tries,
            attempt.status,
            attempt.code,
            round(attempt.latency_ms, 3),
            attempt.error,
        ),
    )
    if attempt.status == "disabled":  # not a retry: the event waits for the trigger's resume
        db.execute(
            "INSERT OR REPLACE INTO trigger_disabled(name, reason) VALUES (?, ?)",
            (event.trigger, f"the receiver answered 410 Gone to event {event.id}"),
        )
        return
    status = {"delivered": "delivered", "dead": "dead", "retry": "pending"}[attempt.status]
    # Only a pending event moves on: a redelivery or a peer's "delivered" may have won meanwhile.
    db.execute(
        "UPDATE trigger_events SET status = ?, tries = tries + 1, next_ms = ?,"
        " done_ms = iif(? = 'pending', NULL, ?) WHERE id = ? AND status = 'pending'",
        (status, attempt.next_ms, status, now, event.id),
    )


def _describe(e: BaseException) -> str:
    """A short error for the event log: its type and message, never request headers."""
    if isinstance(e, TimeoutError):
        return "timeout"
    text = str(e)
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__
