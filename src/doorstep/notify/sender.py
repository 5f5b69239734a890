"""Sending the outbox: signed POSTs, retries with exponential backoff, a delivery log.

A message's life::

    pending --claim--> sending --2xx--> sent
       ^                  |
       +--error, retry ---+--error, last attempt--> dead
       +--lease expired (the sender crashed)

Claiming is one conditional ``UPDATE ... WHERE id = :id AND status IN
('pending', 'sending') AND next_attempt_at <= :now`` that moves the row to
``sending`` and sets ``next_attempt_at`` to the end of a lease. Only one sender's
update can match, on SQLite (writes are serialised) as on PostgreSQL (the
second update waits for the row lock, then re-checks the condition and finds
nothing), so two senders never send one message at the same time. A
``sending`` row whose lease has run out is due again: that is how a sender that
crashed between claiming and finishing loses nothing. The attempt it did not
finish is not counted, and delivery is therefore *at least once*: receivers
deduplicate on the ``Doorstep-Delivery`` header.

Finishing is conditional on the lease too (``status = 'sending' AND
next_attempt_at = <the lease>``), so a sender that outlived its lease cannot
overwrite the outcome of the sender that took the message over.

Each subscription is served by its own worker (``workers`` at a time), so a
slow or unreachable receiver holds up only its own messages: the others keep
being delivered while its POSTs time out. A worker sends one subscription's
due messages oldest first and stops at the first failure, leaving the rest of
that subscription's messages for a later round (each failed message waits out
its own backoff), so an endpoint that is down costs one attempt a round, not
one timeout per queued message. Messages of one subscription are sent one at a
time, never two at once by one sender.

Starting it from the application's lifespan::

    sender = WebhookSender(app.state.sessions, settings)
    if settings.dispatch_webhooks:
        sender.start()
    yield
    sender.stop()
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from sqlalchemy import CursorResult, Result, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from doorstep.notify.addresses import private_address
from doorstep.notify.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.store.tables import utcnow

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
DEAD = "dead"

USER_AGENT = "Doorstep-Webhooks/1"
RESPONSE_EXCERPT = 500
"""Characters of a failed response's body kept in the delivery log."""

log = logging.getLogger("doorstep.webhooks")


@dataclass(frozen=True, slots=True)
class Claim:
    """A message this sender holds until ``lease_until``, with what it needs to send it."""

    message_id: int
    lease_until: datetime
    attempt: int
    """This attempt's number: 1 for the first."""
    url: str
    secret: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one POST gave: a status code, or an error, and how long it took."""

    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(payload: dict[str, Any]) -> bytes:
    """The request body for a stored payload: compact UTF-8 JSON, the bytes that are signed."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookSender:
    """Delivers due outbox messages; run it once (``run_once``) or in a thread (``start``).

    Parameters
    ----------
    sessions
        Sessions on the service's database.
    settings
        ``webhook_timeout_s``, ``webhook_max_attempts`` and ``webhook_backoff_s`` are used.
    client
        The HTTP client to send with; by default the sender makes one (and closes
        it in :meth:`stop`). A client passed in is left open.
    batch_size
        Messages of one subscription looked up at a time (a worker's turn).
    interval_s
        Pause of the background thread between two rounds.
    lease_s
        How long a claim holds a message before another sender may take it over
        (default: twice the timeout plus 30 s, much longer than one POST).
    workers
        Subscriptions served at the same time (one worker thread each).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        client: httpx.Client | None = None,
        *,
        batch_size: int = 20,
        interval_s: float = 0.5,
        lease_s: float | None = None,
        workers: int = 8,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.sessions = sessions
        self.settings = settings
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.workers = workers
        self.lease = timedelta(
            seconds=lease_s if lease_s is not None else 2 * settings.webhook_timeout_s + 30
        )
        self._client = client
        self._owns_client = client is None
        self._client_lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round ---------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> int:
        """Deliver every message due at ``now``, each subscription in its own worker.

        Rounds are repeated until one makes no attempt, so each message due at
        ``now`` is attempted (once, unless a retry is due at ``now`` again).

        Parameters
        ----------
        now
            The time that decides what is due and when retries are scheduled
            (default: the clock). Tests pass it to move time.

        Returns
        -------
        int
            Delivery attempts made (messages claimed and POSTed).
        """
        attempts = 0
        with ThreadPoolExecutor(self.workers, thread_name_prefix="doorstep-webhook") as pool:
            while True:
                subscriptions = self.due_subscriptions(now if now is not None else utcnow())
                jobs = [pool.submit(self.drain_subscription, sub, now) for sub in subscriptions]
                made = sum(job.result() for job in jobs)
                attempts += made
                if made == 0:
                    return attempts

    def drain_subscription(
        self,
        subscription_id: str,
        now: datetime | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> int:
        """One worker's turn: send up to ``batch_size`` due messages of one subscription.

        The turn ends at the first failed attempt: the subscription's other
        messages wait for a later round, so a receiver that is down or slow
        costs one attempt a round.

        Parameters
        ----------
        subscription_id
            The subscription whose messages to send.
        now
            As for :meth:`run_once`.
        stopping
            Checked before each message; true ends the turn.

        Returns
        -------
        int
            Delivery attempts made.
        """
        return self._turn(subscription_id, now, stopping)[0]

    def _turn(
        self, subscription_id: str, now: datetime | None, stopping: Callable[[], bool]
    ) -> tuple[int, bool]:
        """Attempts made, and whether the turn ended on a failure."""
        attempts = 0
        for message_id in self.due(now if now is not None else utcnow(), subscription_id):
            if stopping():
                break
            claim = self.claim(message_id, now if now is not None else utcnow())
            if claim is None:
                continue
            attempts += 1
            if not self.deliver(claim, now):
                return attempts, True
        return attempts, False

    def due_subscriptions(self, now: datetime) -> list[str]:
        """Subscriptions with messages due at ``now``, the longest-waiting first."""
        m = t.OutboxMessage
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(m.subscription_id)
                    .where(m.status.in_((PENDING, SENDING)), m.next_attempt_at <= now)
                    .group_by(m.subscription_id)
                    .order_by(func.min(m.next_attempt_at), m.subscription_id)
                )
            )

    def due(self, now: datetime, subscription_id: str | None = None) -> list[int]:
        """Ids of up to ``batch_size`` messages due at ``now``, oldest schedule first.

        Due means pending with ``next_attempt_at <= now``, or sending with an
        expired lease.

        Parameters
        ----------
        now
            The moment.
        subscription_id
            Only this subscription's messages (default: all subscriptions').
        """
        m = t.OutboxMessage
        query = select(m.id).where(m.status.in_((PENDING, SENDING)), m.next_attempt_at <= now)
        if subscription_id is not None:
            query = query.where(m.subscription_id == subscription_id)
        with self.sessions() as session:
            return list(
                session.scalars(query.order_by(m.next_attempt_at, m.id).limit(self.batch_size))
            )

    def claim(self, message_id: int, now: datetime) -> Claim | None:
        """Take message ``message_id`` for one attempt, if it is still due and nobody has it.

        A message whose subscription has been deactivated is marked dead instead.

        Returns
        -------
        Claim | None
            The claim, or None if another sender was first or the message is not
            due (any more).
        """
        m = t.OutboxMessage
        lease_until = now + self.lease
        with transaction(self.sessions) as session:
            # The UPDATE comes first, so on SQLite the transaction takes the write
            # lock at once (waiting under the busy timeout) rather than upgrading
            # a read snapshot that another sender may have made stale.
            taken = session.execute(
                update(m)
                .where(
                    m.id == message_id,
                    m.status.in_((PENDING, SENDING)),
                    m.next_attempt_at <= now,
                )
                .values(status=SENDING, next_attempt_at=lease_until)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(taken) != 1:
                return None
            message = session.get_one(m, message_id)
            subscription = session.get_one(t.WebhookSubscription, message.subscription_id)
            if not subscription.active:
                message.status = DEAD
                message.next_attempt_at = now
                message.last_error = "the subscription was deactivated"
                return None
            return Claim(
                message_id=message.id,
                lease_until=lease_until,
                attempt=message.attempts + 1,
                url=subscription.url,
                secret=subscription.secret,
                event_type=message.event_type,
                payload=dict(message.payload),
            )

    def deliver(self, claim: Claim, now: datetime | None = None) -> bool:
        """POST a claimed message and record the attempt.

        Parameters
        ----------
        claim
            From :meth:`claim`.
        now
            The time of the attempt, for the delivery log and the next retry
            (default: the clock once the POST is over).

        Returns
        -------
        bool
            Whether the receiver answered 2xx.
        """
        outcome = self.post(claim)
        self._finish(claim, outcome, now if now is not None else utcnow())
        return outcome.ok

    def post(self, claim: Claim) -> Outcome:
        """Send one signed request; never raises (a failure is an outcome)."""
        body = body_of(claim.payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(claim.secret, body, int(time.time())),
            EVENT_HEADER: claim.event_type,
            DELIVERY_HEADER: str(claim.message_id),
        }
        if not self.settings.webhook_allow_private:
            host = urlsplit(claim.url).hostname or ""
            address = private_address(host)
            if address is not None:
                return Outcome(
                    None,
                    f"refused: {host} is a private address ({address}); "
                    "set webhook_allow_private to allow it",
                    0.0,
                )
        started = time.perf_counter()
        try:
            with self._http().stream(
                "POST",
                claim.url,
                content=body,
                headers=headers,
                timeout=self.settings.webhook_timeout_s,
            ) as response:
                status = response.status_code
                error = None
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
                    excerpt = _excerpt(response)
                    if excerpt:
                        error += f": {excerpt}"
        except Exception as exc:  # any failure to send is recorded and retried
            status = None
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return Outcome(status, error, (time.perf_counter() - started) * 1000)

    def _finish(self, claim: Claim, outcome: Outcome, now: datetime) -> None:
        m = t.OutboxMessage
        values: dict[str, Any]
        if outcome.ok:
            values = {"status": SENT, "next_attempt_at": now, "last_error": None}
        elif claim.attempt >= self.settings.webhook_max_attempts:
            values = {"status": DEAD, "next_attempt_at": now, "last_error": outcome.error}
        else:
            delay = self.settings.webhook_backoff_s * 2 ** (claim.attempt - 1)
            values = {
                "status": PENDING,
                "next_attempt_at": now + timedelta(seconds=delay),
                "last_error": outcome.error,
            }
        with transaction(self.sessions) as session:
            updated = session.execute(
                update(m)
                .where(
                    m.id == claim.message_id,
                    m.status == SENDING,
                    m.next_attempt_at == claim.lease_until,
                )
                .values(attempts=claim.attempt, **values)
                .execution_options(synchronize_session=False)
            )
            session.add(
                t.WebhookDelivery(
                    message_id=claim.message_id,
                    attempt=claim.attempt,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=round(outcome.duration_ms, 3),
                    at=now,
                )
            )
        if _rowcount(updated) != 1:
            log.warning(
                "webhook message %s: the lease ran out before attempt %s finished; "
                "another sender has it",
                claim.message_id,
                claim.attempt,
            )

    # -- in the background -------------------------------------------------------

    def start(self) -> None:
        """Serve subscriptions from a daemon thread, ``interval_s`` apart, until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="doorstep-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop after the POSTs in flight, and close the sender's own client.

        Parameters
        ----------
        timeout_s
            Longest wait for the threads (default: the webhook timeout plus 5 s).
        """
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            wait = timeout_s if timeout_s is not None else self.settings.webhook_timeout_s + 5
            self._thread.join(wait)
            if self._thread.is_alive():
                log.warning("the webhook sender did not stop within %.1f s", wait)
                return
            self._thread = None
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    @property
    def running(self) -> bool:
        """Whether the background thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        """Hand each subscription with due messages to a free worker, one worker each.

        A subscription whose turn ended on a failure rests for ``interval_s``
        before its next turn; the others are served meanwhile.
        """
        busy: dict[str, Future[tuple[int, bool]]] = {}
        resting: dict[str, float] = {}
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="doorstep-webhook")
        try:
            while not self._stopping.is_set():
                clock = time.monotonic()
                for sub, job in list(busy.items()):
                    if job.done():
                        del busy[sub]
                        if (error := job.exception()) is not None:
                            log.error("webhook worker for %s failed; retrying", sub, exc_info=error)
                            resting[sub] = clock + self.interval_s
                        elif job.result()[1]:
                            resting[sub] = clock + self.interval_s
                resting = {sub: until for sub, until in resting.items() if until > clock}
                if len(busy) < self.workers:
                    try:
                        waiting = self.due_subscriptions(utcnow())
                    except Exception:
                        log.exception("webhook sender round failed; retrying")
                        waiting = []
                    for sub in waiting:
                        if len(busy) >= self.workers:
                            break
                        if sub not in busy and sub not in resting:
                            busy[sub] = job = pool.submit(
                                self._turn, sub, None, self._stopping.is_set
                            )
                            job.add_done_callback(lambda _: self._wake.set())
                self._wake.wait(self.interval_s)
                self._wake.clear()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self.settings.webhook_timeout_s, follow_redirects=False
                )
            return self._client


def _excerpt(response: httpx.Response) -> str:
    """The start of a response's body, read no further than needed."""
    chunk = b""
    for part in response.iter_bytes():
        chunk += part
        if len(chunk) >= RESPONSE_EXCERPT:
            break
    return chunk[:RESPONSE_EXCERPT].decode(errors="replace").strip()


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched (its result is a cursor result)."""
    return cast("CursorResult[Any]", result).rowcount
