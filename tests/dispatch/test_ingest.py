"""Ingesting scan events under concurrency: a batch sent twice at once is stored once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from doorstep.dispatch.ingest import EventIn, InvalidEvent, Outcome, ingest
from doorstep.domain.events import ScanKind
from doorstep.store import tables as t
from doorstep.store.database import transaction
from service_data import order, store_order

ZONE = ZoneInfo("Europe/Helsinki")


def test_a_batch_sent_twice_at_once_is_stored_once(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    """The second copy waits for the first; it sees duplicates (PostgreSQL) or fails whole.

    SQLite has no row locks: the copy that lost the race fails at the insert,
    writing nothing (the API answers 409 concurrent_batch and the client sends
    it again). Either way every event is stored exactly once.
    """
    with transaction(sessions) as db:
        store_order(db, order("A1"))
    at = datetime(2026, 11, 24, 7, tzinfo=UTC)
    batch = [
        EventIn("e1", "A1-1", ScanKind.SCANNED_AT_DEPOT, at),
        EventIn("e2", "A1-1", ScanKind.LOADED, at + timedelta(minutes=5)),
    ]
    first = sessions()
    first.begin()
    assert [o.status for o in ingest(first, batch, timezone=ZONE, now=at)] == ["accepted"] * 2
    second: dict[str, object] = {}

    def send_again() -> None:
        try:
            with transaction(sessions) as db:
                second["outcomes"] = ingest(db, batch, timezone=ZONE, now=at)
        except IntegrityError:
            second["outcomes"] = "integrity error"

    thread = threading.Thread(target=send_again)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()  # waiting for the first copy's locks
    first.commit()
    first.close()
    thread.join(30)
    if database_url.startswith("postgresql"):
        assert second["outcomes"] == [Outcome("e1", "duplicate"), Outcome("e2", "duplicate")]
    else:
        assert second["outcomes"] == "integrity error"
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(t.Event)) == 2
        assert db.get_one(t.Parcel, "A1-1").state == "loaded"


def test_a_reused_event_id_is_rejected_unless_the_content_matches(
    sessions: sessionmaker[Session],
) -> None:
    """Same id, same content (another offset): duplicate; other content: event_id_reused."""
    with transaction(sessions) as db:
        store_order(db, order("A1"))
    at = datetime(2026, 11, 24, 7, tzinfo=UTC)
    first = EventIn("e1", "A1-1", ScanKind.SCANNED_AT_DEPOT, at, proof={"photo_ref": "p"})
    with transaction(sessions) as db:
        assert ingest(db, [first], timezone=ZONE, now=at)[0].status == "accepted"
    same = EventIn(
        "e1", "A1-1", ScanKind.SCANNED_AT_DEPOT, at.astimezone(ZONE), proof={"photo_ref": "p"}
    )
    other = EventIn("e1", "A1-1", ScanKind.LOADED, at + timedelta(minutes=5))
    fresh = EventIn("e2", "A1-1", ScanKind.LOADED, at + timedelta(minutes=5))
    fresh_again = EventIn("e2", "A1-1", ScanKind.LOADED, at + timedelta(minutes=6))
    with transaction(sessions) as db:
        outcomes = ingest(db, [same, other, fresh, fresh_again], timezone=ZONE, now=at)
    assert [(o.status, o.code) for o in outcomes] == [
        ("duplicate", None),
        ("rejected", "event_id_reused"),
        ("accepted", None),
        ("rejected", "event_id_reused"),
    ]
    assert "'e1' was already used for a different event" in (outcomes[1].detail or "")
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(t.Event)) == 2
        assert db.get_one(t.Parcel, "A1-1").state == "loaded"


def test_an_unreadable_event_is_rejected_alone(sessions: sessionmaker[Session]) -> None:
    """An InvalidEvent becomes a rejected invalid_event outcome naming its field."""
    with transaction(sessions) as db:
        store_order(db, order("A1"))
    at = datetime(2026, 11, 24, 7, tzinfo=UTC)
    bad = InvalidEvent("e0", "body.events[0].kind", "body.events[0].kind: not a kind")
    good = EventIn("e1", "A1-1", ScanKind.SCANNED_AT_DEPOT, at)
    with transaction(sessions) as db:
        outcomes = ingest(db, [bad, good], timezone=ZONE, now=at)
    assert outcomes == [
        Outcome("e0", "rejected", "invalid_event", bad.detail, "body.events[0].kind"),
        Outcome("e1", "accepted"),
    ]
