"""The dispatch monitor: every few seconds, ETAs move with the clock and exceptions are detected.

One background thread inside ``doorstep serve``: every ``monitor_interval_s``
for what the clock alone reveals (a van that has not left), and
:data:`POKE_DELAY_S` after each batch of accepted scans for what events reveal
(a failed attempt, a passed stop); 0 turns it off. Each run, for every day with a
published or in-progress route, in one
transaction per day: the ETAs of the active routes are refreshed at now
(``eta.changed`` beyond the notice), then :func:`doorstep.service.exceptions.tick`
stores what :func:`doorstep.dispatch.exceptions.detect` finds. Playbooks named
in ``auto_accept`` are then applied without asking (each as its own decision,
``key_id`` ``None``, reason ``automatic``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from doorstep.dispatch.ingest import refresh_etas
from doorstep.service.exceptions import Synced, tick
from doorstep.settings import Settings
from doorstep.store.database import transaction
from doorstep.store.queries import dispatch as q

log = logging.getLogger(__name__)

POKE_DELAY_S = 0.3
"""After new events, how long the monitor waits before running (one run per burst)."""


def utc_now() -> datetime:
    """The real clock (the monitor's default)."""
    return datetime.now(UTC)


class Monitor:
    """Runs :meth:`run_once` every ``settings.monitor_interval_s`` in a thread."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self._stop = threading.Event()
        self._poked = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0

    def run_once(self, now: datetime | None = None) -> dict[str, Synced]:
        """Refresh ETAs and detect exceptions of every active day at ``now`` (default: the clock).

        Returns
        -------
        dict
            Day -> what changed in its exceptions.
        """
        now = now or self.clock()
        with transaction(self.sessions) as db:
            days = q.active_days(db)
        out: dict[str, Synced] = {}
        for day in days:
            with transaction(self.sessions) as db:
                refresh_day(db, day, self.settings, now)
                out[day] = tick(db, day, self.settings, now)
            if self.settings.auto_accept:
                auto_accept(self.sessions, day, self.settings, now)
        self.ticks += 1
        return out

    def start(self) -> None:
        """Start the thread (no-op when ``monitor_interval_s`` is 0)."""
        if self.settings.monitor_interval_s <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="dispatch-monitor", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """New events came: run soon (after :data:`POKE_DELAY_S`), not at the next interval."""
        self._poked.set()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        self._poked.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._poked.wait(self.settings.monitor_interval_s):
                # let the poking request commit, and gather the pokes of a burst into one run
                self._stop.wait(POKE_DELAY_S)
            self._poked.clear()
            if self._stop.is_set():
                return
            try:
                self.run_once()
            except Exception:  # the monitor must outlive one bad tick
                log.exception("dispatch monitor tick failed")


def refresh_day(db: Session, day: str, settings: Settings, now: datetime) -> None:
    """Move the ETAs of ``day``'s active routes with the clock (``eta.changed`` beyond notice)."""
    notice_s = int(settings.eta_notice_min * 60)
    refresh_etas(db, day, ZoneInfo(settings.timezone), now, notice_s=notice_s)


def auto_accept(
    sessions: sessionmaker[Session], day: str, settings: Settings, now: datetime
) -> int:
    """Accept, without asking, open proposals of the playbooks named in ``auto_accept``.

    Returns
    -------
    int
        Proposals accepted.
    """
    from doorstep.service.proposals import accept, proposals_for
    from doorstep.service.refusal import RefusedError

    done = 0
    with transaction(sessions) as db:
        open_ids = [e.id for e in q.exceptions_of(db, day, "open")]
    for exception_id in open_ids:
        with transaction(sessions) as db:
            chosen = [
                p.id
                for p in proposals_for(db, exception_id, settings, now)
                if p.status == "open" and p.kind in settings.auto_accept
            ]
        for proposal_id in chosen[:1]:
            try:
                with transaction(sessions) as db:
                    accept(db, proposal_id, None, "automatic", settings, now)
                done += 1
            except RefusedError:
                continue
    return done
