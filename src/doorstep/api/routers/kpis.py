"""``GET /v1/kpis``: the day's KPIs from its events, for a range of days, grouped or not.

The definitions are in :mod:`doorstep.analytics.kpis` (and docs/kpis.md).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from doorstep.analytics.kpis import kpi_answer
from doorstep.api.deps import Config, Db, KpiReader
from doorstep.api.security import Role

router = APIRouter(prefix="/v1", tags=["analytics"])

GroupBy = Literal["depot", "route", "driver", "vehicle", "weekday", "hour", "area", "customer"]


class KpisOut(BaseModel):
    """The KPIs of the range (``total``) and of each group (``groups``, by key)."""

    model_config = ConfigDict(populate_by_name=True)

    first: str = Field(alias="from", description="First day (ISO date).")
    last: str = Field(alias="to", description="Last day, included.")
    group_by: GroupBy | None
    total: dict[str, Any] = Field(
        description="stops, parcels_attempted, parcels_delivered, on_time_rate, "
        "first_attempt_success_rate, failures_by_reason (reason -> count), km_per_stop, "
        "cost_per_parcel, eta_mae_min... (docs/kpis.md defines each)."
    )
    groups: list[dict[str, Any]] = Field(
        description="One entry per group: its ``key`` and the fields of ``total``."
    )


@router.get(
    "/kpis",
    response_model=KpisOut,
    response_model_by_alias=True,
    summary="KPIs of a range of days",
)
def get_kpis(
    db: Db,
    config: Config,
    caller: KpiReader,
    first: Annotated[date, Query(alias="from", description="First day (YYYY-MM-DD).")],
    last: Annotated[date, Query(alias="to", description="Last day, included (YYYY-MM-DD).")],
    group_by: Annotated[
        str | None,
        Query(
            description="depot, route, driver, vehicle, weekday, hour, area (zip code) or "
            "customer; left out: the total only."
        ),
    ] = None,
) -> Any:
    """KPIs of a range of days, computed from the scans (definitions: docs/kpis.md).

    On-time rate, first-attempt success, failures by reason, km and cost per
    stop and parcel, ETA accuracy and the rest, in total and per group.
    Planners and dispatchers may ask up to 366 days; a driver's key gets its own
    figures only, over at most 31 days. 422 ``range_backwards``,
    ``range_too_long``, ``unknown_group_by``.
    """
    driver_id = caller.driver_id if caller.role is Role.DRIVER else None
    return kpi_answer(db, first, last, group_by, config.timezone, driver_id)
