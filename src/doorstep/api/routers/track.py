"""The customer's tracking page data: one order's status, ETA window and proof."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from doorstep.api.deps import Config
from doorstep.api.problems import ProblemError
from doorstep.settings import Settings
from doorstep.store.queries.tracking import Tracked, find_tracked

router = APIRouter(prefix="/v1", tags=["tracking"])

MARGIN_S = 15 * 60
"""Half the width of the ETA window shown to the customer, for the next stop."""
MARGIN_PER_STOP_S = 2 * 60
"""Added to the half-width for every stop still ahead of this one."""


def _moment(day: str, seconds: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(0), tzinfo=zone) + timedelta(
        seconds=seconds
    )


class TrackOut(BaseModel):
    """What a customer sees."""

    status: str
    eta_window: dict[str, str] | None
    proof: dict[str, Any] | None


_DONE = ("delivered", "picked_up", "returned_to_depot", "failed_attempt")
UNKNOWN = "No parcel is tracked with this link."


def _expired(tracked: Tracked, settings: Settings) -> bool:
    """Whether the order ended more than ``tracking_ttl_days`` ago."""
    if tracked.ended_at is None:
        return False
    return datetime.now(UTC) - tracked.ended_at > timedelta(days=settings.tracking_ttl_days)


@router.get("/track/{token}", response_model=TrackOut)
def track(
    token: Annotated[str, Path(max_length=200)], request: Request, settings: Config
) -> dict[str, Any]:
    """Status, ETA window and proof of delivery of the order behind ``token``; nothing else.

    No API key: the unguessable token (128 random bits) is the credential.
    The ETA window is the current estimate plus or minus 15 minutes, 2 more
    per stop still ahead; it is absent once the stop is done. A link stops
    working ``tracking_ttl_days`` after the order ended (its last delivery,
    collection or return scan): then it is the same 404 as an unknown link.
    Read-only: one query, no transaction. A plain ``def``: the query runs in
    the thread pool, never on the event loop.
    """
    if len(token) > 64:
        raise ProblemError(404, "not_found", UNKNOWN)
    # Autocommit: no BEGIN and ROLLBACK round trips around a single read.
    engine = request.app.state.engine.execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        tracked = find_tracked(connection, token)
    if tracked is None or _expired(tracked, settings):
        raise ProblemError(404, "not_found", UNKNOWN)
    zone = ZoneInfo(settings.timezone)
    body: dict[str, Any] = {"status": tracked.status, "eta_window": None, "proof": None}
    eta_s, day = tracked.eta_s, tracked.day
    if (
        eta_s is not None
        and day is not None
        and tracked.stop_state in ("pending", "arrived")
        and tracked.status not in _DONE
    ):
        half = MARGIN_S + MARGIN_PER_STOP_S * tracked.stops_ahead
        body["eta_window"] = {
            "start": _moment(day, eta_s - half, zone).isoformat(),
            "end": _moment(day, eta_s + half, zone).isoformat(),
        }
    if tracked.proof_at is not None:
        details = tracked.proof or {}
        body["proof"] = {
            "at": tracked.proof_at.astimezone(zone).isoformat(),
            "recipient_name": details.get("recipient_name", ""),
            "signature": bool(details.get("signature_ref")),
            "photo": bool(details.get("photo_ref")),
        }
    return body
