"""Depots, vehicles and drivers."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from doorstep.api.deps import Db, Id, Planner, PlanReader
from doorstep.api.problems import ProblemError, not_found, unknown_reference
from doorstep.domain.fleet import Profile
from doorstep.domain.ids import ID_MAX_LENGTH
from doorstep.service.fleet import check_vehicle
from doorstep.store import tables as t

router = APIRouter(prefix="/v1", tags=["fleet"])

Seconds = Annotated[int, Field(ge=0, le=48 * 3600)]
Amount = Annotated[int, Field(ge=0, le=10**12)]


class DepotIn(BaseModel):
    """A depot."""

    model_config = ConfigDict(extra="forbid")
    id: Id
    name: str = Field(default="", max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class DepotOut(DepotIn):
    """A depot as stored."""

    model_config = ConfigDict(from_attributes=True)


class VehicleIn(BaseModel):
    """A vehicle (times in seconds after midnight, money in cents)."""

    model_config = ConfigDict(extra="forbid")
    id: Id
    depot_id: Id
    profile: Profile = Profile.VAN
    capacity_parcels: Amount = 0
    capacity_g: Amount = 0
    capacity_ml: Amount = 0
    shift_start_s: Seconds = 8 * 3600
    shift_end_s: Seconds = 17 * 3600
    max_duration_s: Seconds | None = None
    break_start_s: Seconds | None = None
    break_end_s: Seconds | None = None
    break_s: Seconds | None = None
    cost_fixed: Amount = 0
    cost_per_km: Amount = 0
    cost_per_hour: Amount = 0
    skills: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=50
    )


class VehicleOut(VehicleIn):
    """A vehicle as stored."""

    model_config = ConfigDict(from_attributes=True)


class DriverIn(BaseModel):
    """A driver, optionally with the vehicle they usually drive."""

    model_config = ConfigDict(extra="forbid")
    id: Id
    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)
    vehicle_id: Id | None = None


class DriverOut(DriverIn):
    """A driver as stored."""

    model_config = ConfigDict(from_attributes=True)


Row = TypeVar("Row", t.Depot, t.Vehicle, t.Driver)


def _add(db: Db, row: Row, what: str) -> Row:
    """Store a new depot, vehicle or driver; 409 if its id is taken."""
    if db.get(type(row), row.id) is not None:
        raise ProblemError(409, "conflict", f"A {what} with id {row.id!r} already exists.")
    db.add(row)
    return row


def _readable(what: str, table: type[Row], out: type[BaseModel]) -> None:
    """Add ``GET /v1/<what>s`` (all, by id) and ``GET /v1/<what>s/{<what>_id}`` (one, or 404)."""

    def list_all(db: Db, _: PlanReader) -> list[Row]:
        return list(db.scalars(select(table).order_by(table.id)))

    def get_one(ident: str, db: Db, _: PlanReader) -> Row:
        row = db.get(table, ident)
        if row is None:
            raise not_found(what, ident)
        return row

    # A real annotation, not a string: the path parameter keeps its name, <what>_id.
    get_one.__annotations__["ident"] = Annotated[
        str, Path(alias=f"{what}_id", max_length=ID_MAX_LENGTH)
    ]
    router.add_api_route(
        f"/{what}s",
        list_all,
        methods=["GET"],
        response_model=list[out],  # type: ignore[valid-type]
        name=f"list_{what}s",
        description=f"All {what}s.",
    )
    router.add_api_route(
        f"/{what}s/{{{what}_id}}",
        get_one,
        methods=["GET"],
        response_model=out,
        name=f"get_{what}",
        description=f"One {what}.",
    )


@router.post("/depots", status_code=status.HTTP_201_CREATED, response_model=DepotOut)
def create_depot(body: DepotIn, db: Db, _: Planner) -> t.Depot:
    """Add a depot."""
    return _add(db, t.Depot(**body.model_dump()), "depot")


@router.post("/vehicles", status_code=status.HTTP_201_CREATED, response_model=VehicleOut)
def create_vehicle(body: VehicleIn, db: Db, _: Planner) -> t.Vehicle:
    """Add a vehicle to a depot.

    The vehicle is built as the planner will build it, so one the domain
    refuses is a 422 naming the field: ``shift_invalid`` (``body.shift_end_s``),
    ``break_incomplete`` (``body.break_s``), ``break_invalid`` (the window,
    ``body.break_end_s``; the length, ``body.break_s``; a break that cannot be
    taken during the shift, ``body.break_start_s``) or ``vehicle_invalid``.
    """
    row = t.Vehicle(**body.model_dump(mode="json"))
    check_vehicle(row)
    if db.get(t.Depot, body.depot_id) is None:
        raise unknown_reference("depot", body.depot_id, "body.depot_id")
    return _add(db, row, "vehicle")


@router.post("/drivers", status_code=status.HTTP_201_CREATED, response_model=DriverOut)
def create_driver(body: DriverIn, db: Db, _: Planner) -> t.Driver:
    """Add a driver."""
    if body.vehicle_id is not None and db.get(t.Vehicle, body.vehicle_id) is None:
        raise unknown_reference("vehicle", body.vehicle_id, "body.vehicle_id")
    return _add(db, t.Driver(**body.model_dump()), "driver")


_readable("depot", t.Depot, DepotOut)
_readable("vehicle", t.Vehicle, VehicleOut)
_readable("driver", t.Driver, DriverOut)
