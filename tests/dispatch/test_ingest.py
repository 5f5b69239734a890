"""Ingesting scan events under concurrency: a batch sent twice at once is stored once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from doorstep.dispatch.ingest import EventIn, Outcome, ingest
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
