"""The webhook sender against a real local HTTP receiver, on SQLite and PostgreSQL.

Time is moved by passing ``now=`` to ``run_once``; nothing sleeps for a retry.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from doorstep.notify.outbox import enqueue, enqueue_to
from doorstep.notify.sender import DEAD, PENDING, SENDING, SENT, WebhookSender
from doorstep.notify.signing import verify
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import make_engine, session_factory, transaction
from doorstep.store.tables import utcnow
from receiver import Receiver

SECRET = "test-secret-0123456789"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver, shut down after the test."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """An HTTP client that ignores proxy settings of the environment."""
    with httpx.Client(trust_env=False) as c:
        yield c


def make_sender(
    sessions: sessionmaker[Session], client: httpx.Client, **settings: Any
) -> WebhookSender:
    """A sender with test settings (backoff 2 s, 5 attempts unless overridden)."""
    values: dict[str, Any] = {
        "database_url": "sqlite://",
        "webhook_backoff_s": 2.0,
        "webhook_max_attempts": 5,
        "webhook_timeout_s": 5.0,
        "webhook_allow_private": True,  # the receiver listens on 127.0.0.1
    }
    values.update(settings)
    lease_s = values.pop("lease_s", None)
    return WebhookSender(sessions, Settings(**values), client, lease_s=lease_s)


def subscribe(sessions: sessionmaker[Session], url: str, event_types: list[str]) -> str:
    """A new active subscription; returns its id."""
    with transaction(sessions) as db:
        db.add(t.WebhookSubscription(id="wh_test", url=url, event_types=event_types, secret=SECRET))
    return "wh_test"


def queue(sessions: sessionmaker[Session], sub_id: str, n: int = 1) -> list[int]:
    """Queue ``n`` parcel.delivered messages for ``sub_id``; returns their ids."""
    with transaction(sessions) as db:
        messages = [
            enqueue_to(db, sub_id, "parcel.delivered", {"parcel_id": f"p{i}"}) for i in range(n)
        ]
        return [m.id for m in messages]


def message(sessions: sessionmaker[Session], message_id: int) -> t.OutboxMessage:
    """The stored message."""
    with sessions() as db:
        return db.get_one(t.OutboxMessage, message_id)


def log(sessions: sessionmaker[Session], message_id: int) -> list[t.WebhookDelivery]:
    """The delivery log of a message, first attempt first."""
    with sessions() as db:
        query = (
            select(t.WebhookDelivery)
            .where(t.WebhookDelivery.message_id == message_id)
            .order_by(t.WebhookDelivery.attempt, t.WebhookDelivery.id)
        )
        return list(db.scalars(query))


def test_a_delivery_is_signed_and_names_event_and_message(
    sessions: sessionmaker[Session], receiver: Receiver, client: httpx.Client
) -> None:
    """The POST carries the stored JSON, a signature that verifies, the event and message id."""
    subscribe(sessions, receiver.url, ["parcel.delivered"])
    with transaction(sessions) as db:
        assert enqueue(db, "parcel.delivered", {"parcel_id": "p1"}) == 1
    with sessions() as db:
        message_id = db.scalars(select(t.OutboxMessage.id)).one()

    assert make_sender(sessions, client).run_once() == 1

    [request] = receiver.received
    assert json.loads(request.body) == {"type": "parcel.delivered", "data": {"parcel_id": "p1"}}
    assert request.headers["content-type"] == "application/json"
    assert verify(SECRET, request.body, request.headers["doorstep-signature"])
    assert not verify("another-secret-000", request.body, request.headers["doorstep-signature"])
    assert request.headers["doorstep-event"] == "parcel.delivered"
    assert request.delivery == message_id
    stored = message(sessions, message_id)
    assert (stored.status, stored.attempts, stored.last_error) == (SENT, 1, None)
    [attempt] = log(sessions, message_id)
    assert (attempt.attempt, attempt.status_code, attempt.error) == (1, 200, None)
    assert attempt.duration_ms > 0


def test_failures_are_retried_with_exponential_backoff_until_one_succeeds(
    sessions: sessionmaker[Session], receiver: Receiver, client: httpx.Client
) -> None:
    """After 500s the message is due again 2 s then 4 s later, not before; then 200 sends it."""
    [message_id] = queue(sessions, subscribe(sessions, receiver.url, ["*"]))
    receiver.statuses = [500, 500]
    sender = make_sender(sessions, client, webhook_backoff_s=2.0)
    t0 = utcnow()

    assert sender.run_once(now=t0) == 1
    first = message(sessions, message_id)
    assert (first.status, first.attempts) == (PENDING, 1)
    assert first.next_attempt_at == t0 + timedelta(seconds=2)
    assert first.last_error == "HTTP 500: nope"
    assert sender.run_once(now=t0 + timedelta(seconds=1.9)) == 0

    t1 = t0 + timedelta(seconds=2)
    assert sender.run_once(now=t1) == 1
    assert message(sessions, message_id).next_attempt_at == t1 + timedelta(seconds=4)
    assert sender.run_once(now=t1 + timedelta(seconds=3.9)) == 0

    assert sender.run_once(now=t1 + timedelta(seconds=4)) == 1
    done = message(sessions, message_id)
    assert (done.status, done.attempts, done.last_error) == (SENT, 3, None)
    assert [r.delivery for r in receiver.received] == [message_id] * 3
    attempts = log(sessions, message_id)
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 200)]
    assert [a.error for a in attempts] == ["HTTP 500: nope", "HTTP 500: nope", None]
    assert [a.at for a in attempts] == [t0, t1, t1 + timedelta(seconds=4)]


def test_a_message_is_dead_after_the_last_attempt(
    sessions: sessionmaker[Session], receiver: Receiver, client: httpx.Client
) -> None:
    """With 3 attempts allowed, the third failure marks it dead and nothing is sent again."""
    [message_id] = queue(sessions, subscribe(sessions, receiver.url, ["*"]))
    receiver.statuses = [503] * 10
    sender = make_sender(sessions, client, webhook_max_attempts=3)
    t0 = utcnow()

    sent = [sender.run_once(now=t0 + timedelta(hours=h)) for h in range(5)]

    assert sent == [1, 1, 1, 0, 0]
    dead = message(sessions, message_id)
    assert (dead.status, dead.attempts, dead.last_error) == (DEAD, 3, "HTTP 503: nope")
    assert len(receiver.received) == 3
    assert [a.status_code for a in log(sessions, message_id)] == [503, 503, 503]


def test_network_errors_are_logged_and_retried(
    sessions: sessionmaker[Session], client: httpx.Client
) -> None:
    """A refused connection is an attempt with no status code and the error, retried later."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    [message_id] = queue(sessions, subscribe(sessions, f"http://127.0.0.1:{port}/x", ["*"]))
    t0 = utcnow()

    assert make_sender(sessions, client).run_once(now=t0) == 1

    stored = message(sessions, message_id)
    assert (stored.status, stored.attempts) == (PENDING, 1)
    assert stored.next_attempt_at == t0 + timedelta(seconds=2)
    [attempt] = log(sessions, message_id)
    assert attempt.status_code is None
    assert attempt.error is not None and attempt.error.startswith("ConnectError")
    assert stored.last_error == attempt.error


def test_a_message_claimed_by_a_crashed_sender_is_sent_once_its_lease_expires(
    sessions: sessionmaker[Session], receiver: Receiver, client: httpx.Client
) -> None:
    """A claim never finished holds the message for the lease; after it another sender sends."""
    [message_id] = queue(sessions, subscribe(sessions, receiver.url, ["*"]))
    crashed = make_sender(sessions, client, lease_s=60)
    other = make_sender(sessions, client, lease_s=60)
    t0 = utcnow()

    claim = crashed.claim(message_id, t0)
    assert claim is not None and message(sessions, message_id).status == SENDING
    assert other.run_once(now=t0 + timedelta(seconds=59)) == 0
    assert receiver.received == []

    assert other.run_once(now=t0 + timedelta(seconds=61)) == 1
    assert [r.delivery for r in receiver.received] == [message_id]
    assert (message(sessions, message_id).status, message(sessions, message_id).attempts) == (
        SENT,
        1,
    )

    # The "crashed" sender wakes up and fails its stale attempt: the outcome is logged
    # but does not overwrite the message another sender has finished.
    receiver.statuses = [500]
    assert crashed.deliver(claim, now=t0 + timedelta(seconds=70)) is False
    stored = message(sessions, message_id)
    assert (stored.status, stored.attempts, stored.last_error) == (SENT, 1, None)
    assert [a.status_code for a in log(sessions, message_id)] == [200, 500]


def test_two_senders_never_send_a_message_twice(
    database_url: str, sessions: sessionmaker[Session], receiver: Receiver, client: httpx.Client
) -> None:
    """Two senders (own engines, own threads) draining 40 messages at once send each once."""
    ids = queue(sessions, subscribe(sessions, receiver.url, ["*"]), n=40)
    receiver.delay_s = 0.005
    engines = [make_engine(database_url) for _ in range(2)]
    senders = [
        WebhookSender(
            session_factory(e),
            Settings(database_url=database_url, webhook_allow_private=True),
            client,
            batch_size=5,
        )
        for e in engines
    ]
    now = utcnow()
    start = threading.Barrier(2)
    counts: list[int] = []

    def run(sender: WebhookSender) -> None:
        start.wait()
        counts.append(sender.run_once(now=now))

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()

    assert sorted(r.delivery for r in receiver.received) == ids
    assert sum(counts) == 40
    assert all(c > 0 for c in counts), f"one sender did all the work: {counts}"
    with sessions() as db:
        assert set(db.scalars(select(t.OutboxMessage.status))) == {SENT}
        assert len(db.scalars(select(t.WebhookDelivery.id)).all()) == 40


def test_messages_of_a_deactivated_subscription_are_given_up(
    sessions: sessionmaker[Session], receiver: Receiver, client: httpx.Client
) -> None:
    """A message whose subscription was deactivated after queueing is marked dead, not sent."""
    sub_id = subscribe(sessions, receiver.url, ["*"])
    [message_id] = queue(sessions, sub_id)
    with transaction(sessions) as db:
        db.get_one(t.WebhookSubscription, sub_id).active = False

    assert make_sender(sessions, client).run_once() == 0

    assert receiver.received == []
    assert message(sessions, message_id).status == DEAD
    assert log(sessions, message_id) == []


def test_start_sends_in_the_background_until_stop(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    """start() delivers queued messages from a thread (own HTTP client); stop() ends it."""
    [message_id] = queue(sessions, subscribe(sessions, receiver.url, ["*"]))
    sender = WebhookSender(sessions, Settings(database_url="sqlite://", webhook_allow_private=True))
    sender.start()
    try:
        assert sender.running
        assert receiver.arrived.wait(10)
        deadline = time.monotonic() + 10
        while message(sessions, message_id).status != SENT and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sender.stop()
    assert not sender.running
    assert message(sessions, message_id).status == SENT
    assert len(receiver.received) == 1


def test_now_defaults_to_the_clock(
    sessions: sessionmaker[Session], receiver: Receiver, client: httpx.Client
) -> None:
    """Without now=, a failed attempt is scheduled backoff seconds after the real time."""
    [message_id] = queue(sessions, subscribe(sessions, receiver.url, ["*"]))
    receiver.statuses = [500]
    before = utcnow()
    assert make_sender(sessions, client, webhook_backoff_s=30).run_once() == 1
    after = utcnow()
    scheduled: datetime = message(sessions, message_id).next_attempt_at
    assert before + timedelta(seconds=30) <= scheduled <= after + timedelta(seconds=30)


def test_private_addresses_are_refused_unless_allowed(
    sessions: sessionmaker[Session], receiver: Receiver, client: httpx.Client
) -> None:
    """By default the sender will not call into its own network; the refusal is logged."""
    [message_id] = queue(sessions, subscribe(sessions, receiver.url, ["*"]))
    make_sender(sessions, client, webhook_allow_private=False).run_once()
    assert receiver.received == []
    (entry,) = log(sessions, message_id)
    assert entry.status_code is None
    assert "127.0.0.1 is a private address" in (entry.error or "")
    assert message(sessions, message_id).status == PENDING


def _subscription(sessions: sessionmaker[Session], sub_id: str, url: str) -> str:
    """A subscription to every event with id ``sub_id``."""
    with transaction(sessions) as db:
        db.add(t.WebhookSubscription(id=sub_id, url=url, event_types=["*"], secret=SECRET))
    return sub_id


def test_a_hanging_receiver_does_not_delay_another_subscriber(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    """20 messages queued first for a receiver that times out; an instant one still gets its 20."""
    hanging = Receiver()
    hanging.delay_s = 3.0
    try:
        slow_ids = queue(sessions, _subscription(sessions, "wh_slow", hanging.url), n=20)
        fast_ids = queue(sessions, _subscription(sessions, "wh_fast", receiver.url), n=20)
        assert max(slow_ids) < min(fast_ids)  # the slow subscriber's messages are older
        settings = Settings(
            database_url="sqlite://", webhook_allow_private=True, webhook_timeout_s=1.0
        )
        sender = WebhookSender(sessions, settings, interval_s=0.05)
        started = time.monotonic()
        sender.start()
        try:
            deadline = started + 15
            while len(receiver.received) < 20 and time.monotonic() < deadline:
                time.sleep(0.02)
            took = time.monotonic() - started
        finally:
            sender.stop()
    finally:
        hanging.close()
    assert sorted(r.delivery for r in receiver.received) == fast_ids
    # One sender thread for all would need 20 timeouts (20 s) before the first of them.
    assert took < 5, f"the instant receiver waited {took:.1f} s"
    assert len(hanging.received) < 20


def test_a_turn_ends_at_the_first_failure_of_its_subscription(
    sessions: sessionmaker[Session], receiver: Receiver, client: httpx.Client
) -> None:
    """A failing receiver costs one attempt a turn; run_once still attempts each message once."""
    ids = queue(sessions, subscribe(sessions, receiver.url, ["*"]), n=3)
    receiver.statuses = [500] * 10
    sender = make_sender(sessions, client)
    now = utcnow()

    assert sender.drain_subscription("wh_test", now) == 1
    assert [r.delivery for r in receiver.received] == ids[:1]

    assert sender.run_once(now=now) == 2
    assert sorted(r.delivery for r in receiver.received) == ids
    assert {message(sessions, i).status for i in ids} == {PENDING}
