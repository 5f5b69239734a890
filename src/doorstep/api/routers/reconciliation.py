"""Every parcel of a day accounted for: ``GET /v1/reconciliation`` (planners, dispatchers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from doorstep.analytics.reconcile import FIRST_DAY, LAST_DAY, as_dict, reconcile
from doorstep.api.deps import Config, Db, PlanReader
from doorstep.service.refusal import RefusedError
from doorstep.store.queries.reconcile import day_scans

router = APIRouter(prefix="/v1", tags=["analytics"])


class BucketOut(BaseModel):
    """Parcels in one bucket."""

    count: int
    parcel_ids: list[str]


class TerminalOut(BucketOut):
    """Parcels whose scans reached the end of the chain, split by outcome."""

    outcomes: dict[str, BucketOut] = Field(
        description="delivered, failed_attempt, returned_to_depot, picked_up."
    )


class BucketsOut(BaseModel):
    """Every parcel of the day in exactly one bucket: the furthest stage it reached."""

    manifest: BucketOut
    at_depot: BucketOut
    loaded: BucketOut
    out_for_delivery: BucketOut
    terminal: TerminalOut


class FindingOut(BaseModel):
    """One anomaly of one parcel."""

    parcel_id: str
    order_id: str | None
    route_id: str | None
    note: str


class AnomalyOut(BaseModel):
    """The parcels with one anomaly."""

    count: int
    parcel_ids: list[str]
    items: list[FindingOut]


class ReconciliationOut(BaseModel):
    """The day's scan chain reconciled at a moment (see docs/reconciliation.md)."""

    day: str
    at: datetime = Field(description="The moment reconciled (the day's end when asked later).")
    end_of_day: bool = Field(description="Every shift of the day's routes has ended by ``at``.")
    parcels: int = Field(description="Parcels of the day: the sum of the buckets' counts.")
    buckets: BucketsOut
    anomalies: dict[str, AnomalyOut] = Field(
        description="never_at_depot, at_depot_not_loaded, wrong_vehicle, delivered_not_loaded, "
        "no_terminal_scan, no_manifest, delivered_twice (each present, maybe empty)."
    )


@router.get("/reconciliation", response_model=ReconciliationOut)
def get_reconciliation(
    db: Db,
    _: PlanReader,
    config: Config,
    request: Request,
    day: Annotated[date, Query(description="The day, YYYY-MM-DD.")],
    at: Annotated[
        AwareDatetime | None,
        Query(description="The moment, ISO 8601 with its UTC offset (default: now)."),
    ] = None,
) -> ReconciliationOut:
    """Every parcel of ``day`` in one bucket of the scan chain at ``at``, and the anomalies."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise RefusedError(
            "day_out_of_range", f"day {day}: give a day between {FIRST_DAY} and {LAST_DAY}."
        )
    clock: Callable[[], datetime] = request.app.state.clock
    moment = at or clock()
    scans = day_scans(db, day.isoformat(), config.timezone, moment)
    return ReconciliationOut.model_validate(as_dict(reconcile(scans, moment)))
