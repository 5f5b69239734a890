"""Depots, vehicles and drivers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from doorstep.api.deps import Db
from doorstep.api.problems import ProblemError, not_found, unknown_reference
from doorstep.api.security import Principal, Role, require
from doorstep.domain.fleet import Profile
from doorstep.store import tables as t

router = APIRouter(prefix="/v1", tags=["fleet"])

Planner = Annotated[Principal, Depends(require(Role.PLANNER))]
Reader = Annotated[Principal, Depends(require(Role.PLANNER, Role.DISPATCHER))]

Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
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


def _conflict(what: str, ident: str) -> ProblemError:
    return ProblemError(409, "conflict", f"A {what} with id {ident!r} already exists.")


@router.post("/depots", status_code=status.HTTP_201_CREATED, response_model=DepotOut)
def create_depot(body: DepotIn, db: Db, _: Planner) -> t.Depot:
    """Add a depot."""
    if db.get(t.Depot, body.id) is not None:
        raise _conflict("depot", body.id)
    row = t.Depot(**body.model_dump())
    db.add(row)
    return row


@router.get("/depots", response_model=list[DepotOut])
def list_depots(db: Db, _: Reader) -> list[t.Depot]:
    """All depots."""
    return list(db.scalars(select(t.Depot).order_by(t.Depot.id)))


@router.get("/depots/{depot_id}", response_model=DepotOut)
def get_depot(depot_id: str, db: Db, _: Reader) -> t.Depot:
    """One depot."""
    row = db.get(t.Depot, depot_id)
    if row is None:
        raise not_found("depot", depot_id)
    return row


@router.post("/vehicles", status_code=status.HTTP_201_CREATED, response_model=VehicleOut)
def create_vehicle(body: VehicleIn, db: Db, _: Planner) -> t.Vehicle:
    """Add a vehicle to a depot."""
    if db.get(t.Vehicle, body.id) is not None:
        raise _conflict("vehicle", body.id)
    if db.get(t.Depot, body.depot_id) is None:
        raise unknown_reference("depot", body.depot_id, "body.depot_id")
    if body.shift_end_s <= body.shift_start_s:
        raise ProblemError(
            422,
            "shift_invalid",
            "The shift must end after it starts.",
            [{"field": "body.shift_end_s", "message": "not after shift_start_s"}],
        )
    breaks = (body.break_start_s, body.break_end_s, body.break_s)
    if any(b is not None for b in breaks) and any(b is None for b in breaks):
        raise ProblemError(
            422,
            "break_incomplete",
            "A break needs break_start_s, break_end_s and break_s together.",
            [{"field": "body.break_s", "message": "give all three break fields or none"}],
        )
    row = t.Vehicle(**body.model_dump(mode="json"))
    db.add(row)
    return row


@router.get("/vehicles", response_model=list[VehicleOut])
def list_vehicles(db: Db, _: Reader) -> list[t.Vehicle]:
    """All vehicles."""
    return list(db.scalars(select(t.Vehicle).order_by(t.Vehicle.id)))


@router.get("/vehicles/{vehicle_id}", response_model=VehicleOut)
def get_vehicle(vehicle_id: str, db: Db, _: Reader) -> t.Vehicle:
    """One vehicle."""
    row = db.get(t.Vehicle, vehicle_id)
    if row is None:
        raise not_found("vehicle", vehicle_id)
    return row


@router.post("/drivers", status_code=status.HTTP_201_CREATED, response_model=DriverOut)
def create_driver(body: DriverIn, db: Db, _: Planner) -> t.Driver:
    """Add a driver."""
    if db.get(t.Driver, body.id) is not None:
        raise _conflict("driver", body.id)
    if body.vehicle_id is not None and db.get(t.Vehicle, body.vehicle_id) is None:
        raise unknown_reference("vehicle", body.vehicle_id, "body.vehicle_id")
    row = t.Driver(**body.model_dump())
    db.add(row)
    return row


@router.get("/drivers", response_model=list[DriverOut])
def list_drivers(db: Db, _: Reader) -> list[t.Driver]:
    """All drivers."""
    return list(db.scalars(select(t.Driver).order_by(t.Driver.id)))


@router.get("/drivers/{driver_id}", response_model=DriverOut)
def get_driver(driver_id: str, db: Db, _: Reader) -> t.Driver:
    """One driver."""
    row = db.get(t.Driver, driver_id)
    if row is None:
        raise not_found("driver", driver_id)
    return row
