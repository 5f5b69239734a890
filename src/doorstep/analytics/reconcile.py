"""Every parcel of a day accounted for: the scan chain reconciled at a moment (pure).

The day's parcels are those on a stop of a current route version of the day
(the *manifest*) and those scanned during the day. Their scans, restricted to
the day (its local date) and to the moment ``at``, are folded by event time
into the furthest stage of the chain each parcel reached::

    manifest -> at_depot -> loaded -> out_for_delivery -> terminal

``scanned_at_depot`` reaches ``at_depot``; ``loaded`` reaches ``loaded``;
``out_for_delivery`` and ``arrived_at_stop`` reach ``out_for_delivery``;
``delivered``, ``failed_attempt``, ``returned_to_depot`` and
``return_picked_up`` reach ``terminal``. Every parcel is in exactly one stage
(its *bucket*); a terminal parcel also has one *outcome*: ``delivered`` if it
was ever handed over, else the latest terminal scan's (``failed_attempt``,
``returned_to_depot``, ``picked_up``).

Anomalies (:class:`Anomaly`; a parcel may have several), as of ``at``:

``never_at_depot``
    A delivery on the manifest with no scan of the day, once its route is due
    (planned departure passed, or another of its parcels out for delivery).
``at_depot_not_loaded``
    A delivery on the manifest scanned at the depot and no further, once its
    route is due.
``wrong_vehicle``
    A ``loaded`` or ``out_for_delivery`` scan naming another vehicle than the
    parcel's route's.
``delivered_not_loaded``
    A ``delivered`` scan with no ``loaded`` scan of the day at or before it.
``no_terminal_scan``
    The shift of the parcel's vehicle (its route's, else the last vehicle its
    scans name) has ended and the parcel has no terminal scan.
``no_manifest``
    Scanned during the day, but on no stop of a current route of the day.
``delivered_twice``
    Two or more ``delivered`` scans.

:func:`gap_exceptions` turns the anomalies found at the end of the day into
``missed_scan`` exceptions of the dispatch monitor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from doorstep.dispatch.exceptions import DayException, ExceptionKind, Severity
from doorstep.domain.events import ScanKind
from doorstep.units import format_clock


class Stage(StrEnum):
    """A link of the scan chain; the stages are in chain order."""

    MANIFEST = "manifest"
    """On a current route of the day, not scanned yet."""
    AT_DEPOT = "at_depot"
    LOADED = "loaded"
    OUT_FOR_DELIVERY = "out_for_delivery"
    TERMINAL = "terminal"
    """Delivered, failed at the door, returned to the depot or picked up."""


class Outcome(StrEnum):
    """How a terminal parcel ended."""

    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"
    RETURNED_TO_DEPOT = "returned_to_depot"
    PICKED_UP = "picked_up"


class Anomaly(StrEnum):
    """A gap or contradiction in a parcel's scans (see the module docstring)."""

    NEVER_AT_DEPOT = "never_at_depot"
    AT_DEPOT_NOT_LOADED = "at_depot_not_loaded"
    WRONG_VEHICLE = "wrong_vehicle"
    DELIVERED_NOT_LOADED = "delivered_not_loaded"
    NO_TERMINAL_SCAN = "no_terminal_scan"
    NO_MANIFEST = "no_manifest"
    DELIVERED_TWICE = "delivered_twice"


STAGES: tuple[Stage, ...] = tuple(Stage)
"""The stages in chain order (the buckets)."""

_RANK = {stage: k for k, stage in enumerate(STAGES)}

STAGE_OF: dict[ScanKind, Stage] = {
    ScanKind.SCANNED_AT_DEPOT: Stage.AT_DEPOT,
    ScanKind.LOADED: Stage.LOADED,
    ScanKind.OUT_FOR_DELIVERY: Stage.OUT_FOR_DELIVERY,
    ScanKind.ARRIVED_AT_STOP: Stage.OUT_FOR_DELIVERY,
    ScanKind.DELIVERED: Stage.TERMINAL,
    ScanKind.FAILED_ATTEMPT: Stage.TERMINAL,
    ScanKind.RETURNED_TO_DEPOT: Stage.TERMINAL,
    ScanKind.RETURN_PICKED_UP: Stage.TERMINAL,
}
"""The stage each scan reaches."""

_OUTCOME_OF = {
    ScanKind.DELIVERED: Outcome.DELIVERED,
    ScanKind.FAILED_ATTEMPT: Outcome.FAILED_ATTEMPT,
    ScanKind.RETURNED_TO_DEPOT: Outcome.RETURNED_TO_DEPOT,
    ScanKind.RETURN_PICKED_UP: Outcome.PICKED_UP,
}

_ON_BOARD = frozenset({ScanKind.LOADED, ScanKind.OUT_FOR_DELIVERY})

_PHRASES = {
    Anomaly.NEVER_AT_DEPOT: "on the manifest never scanned at the depot",
    Anomaly.AT_DEPOT_NOT_LOADED: "scanned at the depot but never loaded",
    Anomaly.WRONG_VEHICLE: "loaded on another vehicle than the route's",
    Anomaly.DELIVERED_NOT_LOADED: "delivered without a load scan",
    Anomaly.NO_TERMINAL_SCAN: "without a terminal scan by the end of the shift",
    Anomaly.NO_MANIFEST: "scanned but on no manifest",
    Anomaly.DELIVERED_TWICE: "delivered twice",
}


@dataclass(frozen=True, slots=True)
class Scan:
    """One stored scan event, as the reconciliation reads it."""

    event_id: str
    parcel_id: str
    kind: ScanKind
    at: datetime
    """Event time (timezone-aware)."""
    vehicle_id: str | None = None


@dataclass(frozen=True, slots=True)
class DayParcel:
    """A parcel the day knows of, and where the manifest puts it.

    ``route_id`` is ``None`` for a parcel on no stop of a current route of the
    day (it belongs to the day only if it was scanned).
    """

    parcel_id: str
    order_id: str | None
    kind: str = "delivery"
    """Its order's kind: ``delivery`` or ``pickup`` (a pickup is not loaded at the depot)."""
    route_id: str | None = None
    vehicle_id: str | None = None
    """The route's vehicle."""
    start_s: int | None = None
    """The route's planned departure (clock seconds of the day)."""


@dataclass(frozen=True, slots=True)
class DayScans:
    """What the reconciliation of one day reads (from the store, or built by hand)."""

    day: str
    """ISO date."""
    timezone: str
    """The zone the day's date and clock seconds belong to."""
    parcels: tuple[DayParcel, ...]
    """The manifest's parcels, and any other parcel scanned (with its order)."""
    scans: tuple[Scan, ...]
    """Scan events; those outside the day are ignored."""
    shift_end_s: Mapping[str, int]
    """Vehicle id -> end of its shift (clock seconds of the day)."""


@dataclass(frozen=True, slots=True)
class ParcelLine:
    """One parcel of the day: its bucket, outcome and anomalies."""

    parcel_id: str
    order_id: str | None
    route_id: str | None
    vehicle_id: str | None
    stage: Stage
    outcome: Outcome | None
    """Set for terminal parcels only."""
    anomalies: tuple[Anomaly, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """One anomaly of one parcel, with a sentence saying what the scans show."""

    anomaly: Anomaly
    parcel_id: str
    order_id: str | None
    route_id: str | None
    note: str


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The day's parcels reconciled at ``at``."""

    day: str
    at: datetime
    """The moment (in the day's zone), within the day: its end when asked later."""
    at_s: int
    """``at`` as clock seconds of the day."""
    end_of_day: bool
    """Every shift of the day's routes has ended by ``at`` (or the day is over)."""
    lines: tuple[ParcelLine, ...]
    """Every parcel of the day, by id."""
    findings: tuple[Finding, ...]
    """Every anomaly, in :class:`Anomaly` order, then by parcel id."""

    def bucket(self, stage: Stage) -> list[str]:
        """The parcel ids whose furthest stage is ``stage``."""
        return [line.parcel_id for line in self.lines if line.stage is stage]

    def outcome(self, outcome: Outcome) -> list[str]:
        """The terminal parcel ids with ``outcome``."""
        return [line.parcel_id for line in self.lines if line.outcome is outcome]

    def anomaly(self, anomaly: Anomaly) -> list[str]:
        """The parcel ids with ``anomaly``."""
        return [f.parcel_id for f in self.findings if f.anomaly is anomaly]


FIRST_DAY = date(2, 1, 1)
LAST_DAY = date(9998, 12, 31)
"""The days a reconciliation accepts: their midnights exist in every zone and in UTC."""


def day_bounds(day: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Midnight of ``day`` and of the next day, in ``zone``."""
    start = datetime.combine(date.fromisoformat(day), time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def _clock(moment: datetime, midnight: datetime) -> int:
    """Wall-clock seconds after ``midnight`` (in its zone: a DST day still ends at 24:00)."""
    return int((moment.astimezone(midnight.tzinfo) - midnight).total_seconds())


def reconcile(scans: DayScans, at: datetime) -> Reconciliation:
    """Reconcile the day's parcels with their scans up to ``at``.

    Parameters
    ----------
    scans
        The day: its parcels (manifest and others scanned), scans, shift ends.
    at
        The moment (timezone-aware). Past the day's end, the day's end; before
        its start, its start.

    Returns
    -------
    Reconciliation
        Every parcel of the day in exactly one bucket, and the anomalies.

    Raises
    ------
    ValueError
        If ``at`` has no timezone.
    """
    if at.tzinfo is None:
        raise ValueError("at: give a timezone")
    zone = ZoneInfo(scans.timezone)
    start, end = day_bounds(scans.day, zone)
    moment = max(start, min(at, end)).astimezone(zone)
    at_s = _clock(moment, start)
    history: dict[str, list[Scan]] = defaultdict(list)
    for scan in sorted(scans.scans, key=lambda s: (s.at, s.event_id)):
        if start <= scan.at < end and scan.at <= moment:
            history[scan.parcel_id].append(scan)
    known: dict[str, DayParcel] = {}
    for parcel in scans.parcels:  # the first on the manifest, else the first at all
        held = known.get(parcel.parcel_id)
        if held is None or (held.route_id is None and parcel.route_id is not None):
            known[parcel.parcel_id] = parcel
    manifest = {p.parcel_id for p in known.values() if p.route_id is not None}
    departed: set[str] = set()
    for pid in manifest:
        if any(s.kind is ScanKind.OUT_FOR_DELIVERY for s in history.get(pid, ())):
            departed.add(known[pid].route_id or "")
    lines: list[ParcelLine] = []
    findings: list[Finding] = []
    for pid in sorted(manifest | set(history)):
        info = known.get(pid) or DayParcel(pid, None)
        stage, outcome = _furthest(history.get(pid, []))
        found = _anomalies(info, stage, history.get(pid, []), scans, at_s, departed, start)
        lines.append(
            ParcelLine(
                pid,
                info.order_id,
                info.route_id,
                info.vehicle_id,
                stage,
                outcome,
                tuple(a for a, _ in found),
            )
        )
        findings += [Finding(a, pid, info.order_id, info.route_id, note) for a, note in found]
    findings.sort(key=lambda f: (list(Anomaly).index(f.anomaly), f.parcel_id))
    ends = [
        scans.shift_end_s[p.vehicle_id]
        for p in known.values()
        if p.route_id is not None and p.vehicle_id is not None and p.vehicle_id in scans.shift_end_s
    ]
    end_of_day = moment >= end or (bool(ends) and at_s > max(ends))
    return Reconciliation(scans.day, moment, at_s, end_of_day, tuple(lines), tuple(findings))


def _furthest(history: list[Scan]) -> tuple[Stage, Outcome | None]:
    stage = max((STAGE_OF[s.kind] for s in history), key=_RANK.__getitem__, default=Stage.MANIFEST)
    if stage is not Stage.TERMINAL:
        return stage, None
    if any(s.kind is ScanKind.DELIVERED for s in history):
        return stage, Outcome.DELIVERED
    last = [s for s in history if s.kind in _OUTCOME_OF][-1]
    return stage, _OUTCOME_OF[last.kind]


def _anomalies(
    info: DayParcel,
    stage: Stage,
    history: list[Scan],
    scans: DayScans,
    at_s: int,
    departed: set[str],
    midnight: datetime,
) -> list[tuple[Anomaly, str]]:
    """The anomalies of one parcel, each with its note."""

    def when(scan: Scan) -> str:
        return format_clock(_clock(scan.at, midnight))

    out: list[tuple[Anomaly, str]] = []
    on_manifest = info.route_id is not None
    delivery = info.kind != "pickup"
    due = on_manifest and (
        info.route_id in departed or (info.start_s is not None and at_s >= info.start_s)
    )
    route = f"{info.route_id} ({info.vehicle_id})"
    if due and delivery and stage is Stage.MANIFEST:
        out.append((Anomaly.NEVER_AT_DEPOT, f"on {route}, never scanned at the depot"))
    if due and delivery and stage is Stage.AT_DEPOT:
        out.append(
            (
                Anomaly.AT_DEPOT_NOT_LOADED,
                f"scanned at the depot at {when(history[-1])}, never loaded on {route}",
            )
        )
    if on_manifest and info.vehicle_id is not None:
        others = sorted(
            {
                s.vehicle_id
                for s in history
                if s.kind in _ON_BOARD and s.vehicle_id and s.vehicle_id != info.vehicle_id
            }
        )
        if others:
            out.append(
                (
                    Anomaly.WRONG_VEHICLE,
                    f"on {', '.join(others)}, but its route {info.route_id} is {info.vehicle_id}'s",
                )
            )
    delivered = [s for s in history if s.kind is ScanKind.DELIVERED]
    if delivered and not any(
        s.kind is ScanKind.LOADED and s.at <= delivered[0].at for s in history
    ):
        out.append(
            (
                Anomaly.DELIVERED_NOT_LOADED,
                f"delivered at {when(delivered[0])} without a load scan",
            )
        )
    vehicle = info.vehicle_id or next(
        (s.vehicle_id for s in reversed(history) if s.vehicle_id), None
    )
    shift_end = scans.shift_end_s.get(vehicle) if vehicle is not None else None
    if shift_end is not None and at_s > shift_end and stage is not Stage.TERMINAL:
        last = (
            f"last scan {history[-1].kind.value} at {when(history[-1])}" if history else "no scan"
        )
        out.append(
            (
                Anomaly.NO_TERMINAL_SCAN,
                f"{vehicle}'s shift ended at {format_clock(shift_end)}; {last}",
            )
        )
    if not on_manifest and history:
        out.append(
            (
                Anomaly.NO_MANIFEST,
                f"first scanned ({history[0].kind.value}) at {when(history[0])}, "
                "on no current route of the day",
            )
        )
    if len(delivered) > 1:
        out.append(
            (
                Anomaly.DELIVERED_TWICE,
                f"delivered {len(delivered)} times: {', '.join(when(s) for s in delivered)}",
            )
        )
    return out


def _rfc3339(moment: datetime) -> str:
    """ISO 8601 in the moment's zone, or in UTC when its offset has seconds (old local times)."""
    offset = moment.utcoffset()
    if offset is not None and offset.seconds % 60:
        moment = moment.astimezone(UTC)
    return moment.isoformat()


def as_dict(report: Reconciliation) -> dict[str, Any]:
    """The reconciliation as JSON data (the API's answer, ``doorstep reconcile --format json``).

    Parameters
    ----------
    report
        A reconciliation.

    Returns
    -------
    dict
        ``day``, ``at`` (ISO, the day's zone; UTC for an offset with seconds),
        ``end_of_day``, ``parcels`` (how many), ``buckets`` (stage -> ``count``,
        ``parcel_ids``; ``terminal`` also ``outcomes``: outcome -> ``count``,
        ``parcel_ids``) and ``anomalies`` (every :class:`Anomaly` -> ``count``, ``parcel_ids``,
        ``items``: ``parcel_id``, ``order_id``, ``route_id``, ``note``).
    """

    def ids(parcels: list[str]) -> dict[str, Any]:
        return {"count": len(parcels), "parcel_ids": parcels}

    buckets: dict[str, Any] = {stage.value: ids(report.bucket(stage)) for stage in STAGES}
    buckets[Stage.TERMINAL.value]["outcomes"] = {
        outcome.value: ids(report.outcome(outcome)) for outcome in Outcome
    }
    anomalies: dict[str, Any] = {}
    for anomaly in Anomaly:
        items = [f for f in report.findings if f.anomaly is anomaly]
        anomalies[anomaly.value] = ids([f.parcel_id for f in items]) | {
            "items": [
                {
                    "parcel_id": f.parcel_id,
                    "order_id": f.order_id,
                    "route_id": f.route_id,
                    "note": f.note,
                }
                for f in items
            ]
        }
    return {
        "day": report.day,
        "at": _rfc3339(report.at),
        "end_of_day": report.end_of_day,
        "parcels": len(report.lines),
        "buckets": buckets,
        "anomalies": anomalies,
    }


def gap_cause(day: str, anomaly: Anomaly) -> str:
    """The stable cause of the ``missed_scan`` exception of ``anomaly`` on ``day``."""
    return f"missed_scan:reconcile:{day}:{anomaly.value}"


def gap_exceptions(report: Reconciliation, end_of_day: bool) -> list[DayException]:
    """The end-of-day anomalies as ``missed_scan`` exceptions, one per kind of anomaly.

    Parameters
    ----------
    report
        The day's reconciliation.
    end_of_day
        Whether the day is over for the caller (usually ``report.end_of_day``);
        before it, nothing is a gap yet and the answer is empty.

    Returns
    -------
    list of DayException
        For each :class:`Anomaly` found, in that order: kind ``missed_scan``,
        severity low, cause ``missed_scan:reconcile:<day>:<anomaly>`` (stable
        across runs, so the monitor keeps one exception per anomaly and
        resolves it once the scans are put right), the orders and parcels
        concerned, and details ``{"scan": <anomaly>, "source": "reconciliation"}``.
    """
    if not end_of_day:
        return []
    out: list[DayException] = []
    for anomaly in Anomaly:
        items = [f for f in report.findings if f.anomaly is anomaly]
        if not items:
            continue
        parcels = [f.parcel_id for f in items]
        orders = sorted({f.order_id for f in items if f.order_id is not None})
        count = f"{len(parcels)} parcel{'s' if len(parcels) > 1 else ''}"
        shown = ", ".join(parcels[:5]) + ("..." if len(parcels) > 5 else "")
        out.append(
            DayException(
                ExceptionKind.MISSED_SCAN,
                gap_cause(report.day, anomaly),
                Severity.LOW,
                f"End of {report.day}: {count} {_PHRASES[anomaly]}: {shown}.",
                None,
                tuple(orders),
                tuple(parcels),
                details={"scan": anomaly.value, "source": "reconciliation"},
            )
        )
    return out
