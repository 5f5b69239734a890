"""The parcel reconciliation: buckets, outcomes, each anomaly, the end-of-day gaps, properties."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from doorstep.analytics.reconcile import (
    STAGES,
    Anomaly,
    DayParcel,
    DayScans,
    Outcome,
    Reconciliation,
    Scan,
    Stage,
    as_dict,
    gap_exceptions,
    reconcile,
)
from doorstep.dispatch.exceptions import ExceptionKind, Severity
from doorstep.domain.events import ScanKind

ZONE = ZoneInfo("Europe/Helsinki")
DAY = "2026-05-04"
H = 3600
K = ScanKind


def at(hour: float, day_offset: int = 0) -> datetime:
    """``hour`` o'clock (local) of the test day, or of a day ``day_offset`` away."""
    midnight = datetime(2026, 5, 4, tzinfo=ZONE) + timedelta(days=day_offset)
    return midnight + timedelta(seconds=round(hour * H))


def on_r1(pid: str, kind: str = "delivery") -> DayParcel:
    """A parcel of order ``O-<pid>`` on route R1 (VAN-1, leaving 08:00)."""
    return DayParcel(pid, f"O-{pid}", kind, "R1", "VAN-1", 8 * H)


def on_r2(pid: str, kind: str = "delivery") -> DayParcel:
    """A parcel on route R2 (VAN-2, leaving 09:00)."""
    return DayParcel(pid, f"O-{pid}", kind, "R2", "VAN-2", 9 * H)


def scans(pid: str, *steps: tuple[ScanKind, float], vehicle: str | None = None) -> list[Scan]:
    """Scans of ``pid``: ``(kind, hour)`` pairs, all naming ``vehicle``."""
    return [Scan(f"{pid}-{k}", pid, kind, at(h), vehicle) for k, (kind, h) in enumerate(steps)]


CHAIN = ((K.SCANNED_AT_DEPOT, 6), (K.LOADED, 7), (K.OUT_FOR_DELIVERY, 8))
"""The morning of a parcel that went out for delivery."""


def day(parcels: list[DayParcel], events: list[Scan]) -> DayScans:
    """A day with shifts ending at 17:00 (VAN-1) and 18:00 (VAN-2)."""
    return DayScans(
        DAY, "Europe/Helsinki", tuple(parcels), tuple(events), {"VAN-1": 17 * H, "VAN-2": 18 * H}
    )


def full_day() -> DayScans:
    """One parcel in each bucket and each outcome, and one scanned on no manifest."""
    parcels = [
        on_r1("M"),
        on_r1("D"),
        on_r1("L"),
        on_r1("O"),
        on_r1("T"),
        on_r1("F"),
        on_r1("R"),
        on_r2("P", "pickup"),
        DayParcel("N", "O-N", "delivery"),
        DayParcel("Q", "O-Q", "delivery"),  # neither on the manifest nor scanned today
    ]
    events = [
        *scans("D", (K.SCANNED_AT_DEPOT, 6)),
        *scans("L", (K.SCANNED_AT_DEPOT, 6), (K.LOADED, 7), vehicle="VAN-1"),
        *scans("O", *CHAIN, vehicle="VAN-1"),
        *scans("T", *CHAIN, (K.DELIVERED, 9), vehicle="VAN-1"),
        *scans("F", *CHAIN, (K.FAILED_ATTEMPT, 9.5), vehicle="VAN-1"),
        *scans("R", *CHAIN, (K.FAILED_ATTEMPT, 9.5), (K.RETURNED_TO_DEPOT, 11), vehicle="VAN-1"),
        *scans("P", (K.ARRIVED_AT_STOP, 10), (K.RETURN_PICKED_UP, 10.1), vehicle="VAN-2"),
        *scans("N", (K.SCANNED_AT_DEPOT, 6.5)),
    ]
    return day(parcels, events)


def findings(report: Reconciliation) -> dict[Anomaly, list[str]]:
    """Anomaly -> parcel ids, only those found."""
    out: dict[Anomaly, list[str]] = {}
    for f in report.findings:
        out.setdefault(f.anomaly, []).append(f.parcel_id)
    return out


def test_each_parcel_lands_in_the_bucket_of_its_furthest_scan() -> None:
    """At noon: M manifest, D N at depot, L loaded, O out, T F R P terminal; Q not of the day."""
    report = reconcile(full_day(), at(12))
    assert {stage: report.bucket(stage) for stage in STAGES} == {
        Stage.MANIFEST: ["M"],
        Stage.AT_DEPOT: ["D", "N"],
        Stage.LOADED: ["L"],
        Stage.OUT_FOR_DELIVERY: ["O"],
        Stage.TERMINAL: ["F", "P", "R", "T"],
    }
    assert {o: report.outcome(o) for o in Outcome} == {
        Outcome.DELIVERED: ["T"],
        Outcome.FAILED_ATTEMPT: ["F"],
        Outcome.RETURNED_TO_DEPOT: ["R"],
        Outcome.PICKED_UP: ["P"],
    }
    assert "Q" not in {line.parcel_id for line in report.lines}


def test_noon_anomalies_are_the_gaps_so_far() -> None:
    """At noon the only anomalies: M never at the depot, D not loaded, N on no manifest."""
    report = reconcile(full_day(), at(12))
    assert findings(report) == {
        Anomaly.NEVER_AT_DEPOT: ["M"],
        Anomaly.AT_DEPOT_NOT_LOADED: ["D"],
        Anomaly.NO_MANIFEST: ["N"],
    }
    assert not report.end_of_day


def test_scans_after_the_moment_and_outside_the_day_are_left_out() -> None:
    """At 08:30 T is out for delivery (its 09:00 delivery not yet); yesterday's scan is ignored."""
    parcels = [on_r1("T"), on_r1("Y")]
    events = [
        *scans("T", *CHAIN, (K.DELIVERED, 9), vehicle="VAN-1"),
        Scan("y-0", "Y", K.SCANNED_AT_DEPOT, at(20, day_offset=-1)),
        Scan("y-1", "Y", K.LOADED, at(7), "VAN-1"),
        Scan("y-2", "Y", K.DELIVERED, at(1, day_offset=1), "VAN-1"),
    ]
    report = reconcile(day(parcels, events), at(8.5))
    assert report.bucket(Stage.OUT_FOR_DELIVERY) == ["T"]
    assert report.bucket(Stage.LOADED) == ["Y"]
    later = reconcile(day(parcels, events), at(12, day_offset=3))
    assert later.bucket(Stage.LOADED) == ["Y"], "the delivery after midnight is another day's"
    assert later.at == at(0, day_offset=1), "a moment past the day is the day's end"
    earlier = reconcile(day(parcels, events), at(-30))
    assert earlier.at == at(0) and earlier.bucket(Stage.MANIFEST) == ["T", "Y"]


def test_the_manifest_is_not_due_before_the_route_leaves() -> None:
    """Unscanned at 07:30 is no gap; it is once the planned start passed or a parcel left."""
    quiet = day([on_r1("M")], [])
    assert reconcile(quiet, at(7.5)).findings == ()
    assert reconcile(quiet, at(8)).anomaly(Anomaly.NEVER_AT_DEPOT) == ["M"]
    early = day([on_r1("M"), on_r1("O")], scans("O", *CHAIN[:2], (K.OUT_FOR_DELIVERY, 7.2)))
    assert reconcile(early, at(7.5)).anomaly(Anomaly.NEVER_AT_DEPOT) == ["M"]


def test_a_pickup_is_never_expected_at_the_depot() -> None:
    """A return on the manifest, unscanned after its route left: no depot anomaly."""
    report = reconcile(day([on_r2("P", "pickup")], []), at(12))
    assert report.bucket(Stage.MANIFEST) == ["P"]
    assert report.findings == ()


def test_loaded_on_another_vehicle() -> None:
    """A parcel of VAN-1's route scanned loaded (and out) on VAN-2: wrong_vehicle, naming VAN-2."""
    events = scans("W", *CHAIN, vehicle="VAN-2")
    report = reconcile(day([on_r1("W")], events), at(12))
    assert findings(report) == {Anomaly.WRONG_VEHICLE: ["W"]}
    assert "VAN-2" in report.findings[0].note
    right = reconcile(day([on_r1("W")], scans("W", *CHAIN, vehicle="VAN-1")), at(12))
    assert right.findings == ()


def test_delivered_without_a_load_scan() -> None:
    """A delivery with no load scan before it is flagged; one loaded only afterwards too."""
    events = [
        *scans("Y", (K.SCANNED_AT_DEPOT, 6), (K.OUT_FOR_DELIVERY, 8), (K.DELIVERED, 9)),
        *scans("Z", (K.SCANNED_AT_DEPOT, 6), (K.DELIVERED, 9), (K.LOADED, 10)),
        *scans("T", *CHAIN, (K.DELIVERED, 9)),
    ]
    report = reconcile(day([on_r1("Y"), on_r1("Z"), on_r1("T")], events), at(12))
    assert findings(report) == {Anomaly.DELIVERED_NOT_LOADED: ["Y", "Z"]}


def test_no_terminal_scan_by_the_end_of_the_shift() -> None:
    """Out for delivery at VAN-1's shift end (17:00) is fine; a minute later it is a gap."""
    events = scans("O", *CHAIN, vehicle="VAN-1")
    quiet = day([on_r1("O"), on_r1("T")], [*events, *scans("T", *CHAIN, (K.DELIVERED, 9))])
    assert reconcile(quiet, at(17)).findings == ()
    report = reconcile(quiet, at(17 + 1 / 60))
    assert findings(report) == {Anomaly.NO_TERMINAL_SCAN: ["O"]}
    assert "17:00" in report.findings[0].note


def test_no_terminal_scan_follows_the_scanned_vehicle_off_the_manifest() -> None:
    """A parcel on no manifest, last scanned on VAN-2 (shift until 18:00), has two anomalies."""
    loose = DayParcel("N", "O-N")
    events = scans("N", *CHAIN, vehicle="VAN-2")
    assert findings(reconcile(day([loose], events), at(17.5))) == {Anomaly.NO_MANIFEST: ["N"]}
    assert findings(reconcile(day([loose], events), at(18.5))) == {
        Anomaly.NO_TERMINAL_SCAN: ["N"],
        Anomaly.NO_MANIFEST: ["N"],
    }


def test_scanned_on_no_manifest_even_without_a_known_order() -> None:
    """A scan of a parcel the day does not know at all is counted, and flagged no_manifest."""
    report = reconcile(day([], scans("X", (K.SCANNED_AT_DEPOT, 6))), at(12))
    assert report.bucket(Stage.AT_DEPOT) == ["X"]
    assert report.anomaly(Anomaly.NO_MANIFEST) == ["X"]
    assert report.lines[0].order_id is None


def test_delivered_twice() -> None:
    """Two delivered scans: delivered_twice, with both times in the note; outcome delivered."""
    events = scans("T", *CHAIN, (K.DELIVERED, 9), (K.DELIVERED, 9.25))
    report = reconcile(day([on_r1("T")], events), at(12))
    assert findings(report) == {Anomaly.DELIVERED_TWICE: ["T"]}
    assert "09:00, 09:15" in report.findings[0].note
    assert report.outcome(Outcome.DELIVERED) == ["T"]


def test_a_parcel_may_have_several_anomalies() -> None:
    """Never at the depot and no terminal scan at 18:00: both listed on the parcel's line."""
    report = reconcile(day([on_r1("M")], []), at(18))
    assert report.lines[0].anomalies == (Anomaly.NEVER_AT_DEPOT, Anomaly.NO_TERMINAL_SCAN)
    assert report.end_of_day


def test_as_dict_has_every_bucket_and_anomaly_and_counts_that_add_up() -> None:
    """The JSON lists all five buckets, the four outcomes, all seven anomalies; counts add up."""
    data = as_dict(reconcile(full_day(), at(12)))
    assert list(data["buckets"]) == [s.value for s in STAGES]
    assert sum(b["count"] for b in data["buckets"].values()) == data["parcels"] == 9
    outcomes = data["buckets"]["terminal"]["outcomes"]
    assert sum(o["count"] for o in outcomes.values()) == data["buckets"]["terminal"]["count"]
    assert list(data["anomalies"]) == [a.value for a in Anomaly]
    assert data["anomalies"]["no_manifest"]["items"][0]["parcel_id"] == "N"
    assert data["at"] == "2026-05-04T12:00:00+03:00"


def test_gap_exceptions_wait_for_the_end_of_the_day() -> None:
    """Before the day's end no exception; after it one missed_scan per anomaly, stable causes."""
    assert gap_exceptions(reconcile(full_day(), at(12)), end_of_day=False) == []
    report = reconcile(full_day(), at(19))
    assert report.end_of_day
    found = gap_exceptions(report, report.end_of_day)
    assert [e.cause for e in found] == [
        f"missed_scan:reconcile:{DAY}:never_at_depot",
        f"missed_scan:reconcile:{DAY}:at_depot_not_loaded",
        f"missed_scan:reconcile:{DAY}:no_terminal_scan",
        f"missed_scan:reconcile:{DAY}:no_manifest",
    ]
    assert {(e.kind, e.severity) for e in found} == {(ExceptionKind.MISSED_SCAN, Severity.LOW)}
    no_terminal = found[2]
    assert no_terminal.parcel_ids == ("D", "L", "M", "O")
    assert no_terminal.order_ids == ("O-D", "O-L", "O-M", "O-O")
    assert no_terminal.details == {"scan": "no_terminal_scan", "source": "reconciliation"}
    assert "4 parcels without a terminal scan" in no_terminal.sentence
    assert gap_exceptions(reconcile(full_day(), at(20)), True) == found, "same causes next run"


def test_a_clean_day_opens_no_gap() -> None:
    """Every parcel delivered: the end-of-day reconciliation opens no exception."""
    events = [e for p in ("A", "B") for e in scans(p, *CHAIN, (K.DELIVERED, 9), vehicle="VAN-1")]
    report = reconcile(day([on_r1("A"), on_r1("B")], events), at(23))
    assert report.findings == () and gap_exceptions(report, True) == []


PARCELS = [f"P{k}" for k in range(8)]
KINDS = list(ScanKind)


@st.composite
def histories(draw: st.DrawFn) -> tuple[DayScans, datetime]:
    """Random parcels (some on routes, some pickups) and scans of any kind, any order, any day."""
    parcels = []
    for pid in draw(st.lists(st.sampled_from(PARCELS), unique=True)):
        route = draw(st.sampled_from([None, "R1", "R2"]))
        vehicle = {"R1": "VAN-1", "R2": "VAN-2"}.get(route or "")
        kind = draw(st.sampled_from(["delivery", "pickup"]))
        parcels.append(DayParcel(pid, f"O-{pid}", kind, route, vehicle, 8 * H if route else None))
    events = [
        Scan(
            f"e{k}",
            draw(st.sampled_from(PARCELS)),
            draw(st.sampled_from(KINDS)),
            at(draw(st.floats(min_value=-6, max_value=30))),
            draw(st.sampled_from([None, "VAN-1", "VAN-2", "VAN-3"])),
        )
        for k in range(draw(st.integers(0, 30)))
    ]
    return day(parcels, events), at(draw(st.floats(min_value=-2, max_value=30)))


@given(histories())
def test_every_parcel_is_in_exactly_one_bucket(case: tuple[DayScans, datetime]) -> None:
    """Random histories: each parcel of the day in one bucket; the counts add up to the parcels."""
    scans_, moment = case
    report = reconcile(scans_, moment)
    in_buckets = [pid for stage in STAGES for pid in report.bucket(stage)]
    assert Counter(in_buckets) == Counter(line.parcel_id for line in report.lines)
    assert len(in_buckets) == len(set(in_buckets)) == len(report.lines)
    start, end = at(0), at(24)
    assert start <= report.at <= end
    scanned = {s.parcel_id for s in scans_.scans if start <= s.at < end and s.at <= report.at}
    manifest = {p.parcel_id for p in scans_.parcels if p.route_id is not None}
    assert set(in_buckets) == scanned | manifest
    data = as_dict(report)
    assert sum(b["count"] for b in data["buckets"].values()) == data["parcels"]
    terminal = data["buckets"]["terminal"]
    assert sorted(p for o in terminal["outcomes"].values() for p in o["parcel_ids"]) == sorted(
        terminal["parcel_ids"]
    )
    assert {f.parcel_id for f in report.findings} <= set(in_buckets)


@given(histories(), st.floats(min_value=0, max_value=30))
def test_a_parcel_never_moves_back_as_the_moment_advances(
    case: tuple[DayScans, datetime], hours: float
) -> None:
    """A later moment: each parcel of an earlier reconciliation is in the same or a later bucket."""
    scans_, moment = case
    rank = {stage: k for k, stage in enumerate(STAGES)}
    before = {line.parcel_id: rank[line.stage] for line in reconcile(scans_, moment).lines}
    after = {
        line.parcel_id: rank[line.stage]
        for line in reconcile(scans_, moment + timedelta(hours=hours)).lines
    }
    assert all(after[pid] >= stage for pid, stage in before.items())


def test_a_historic_offset_with_seconds_is_given_in_utc() -> None:
    """Helsinki's 1900 offset (+01:39:49) is not RFC 3339: the moment is written in UTC."""
    old = DayScans("1900-01-01", "Europe/Helsinki", (), (), {})
    data = as_dict(reconcile(old, datetime(1900, 1, 1, 12, tzinfo=ZONE)))
    assert data["at"].endswith("+00:00")
    assert datetime.fromisoformat(data["at"]) == datetime(1900, 1, 1, 12, tzinfo=ZONE)


def test_clock_times_are_local_wall_clock_on_a_dst_day() -> None:
    """On the 23-hour spring-forward day, a 09:00 scan stored in UTC still reads 09:00."""
    spring = datetime(2026, 3, 29, tzinfo=ZONE)
    parcel = DayParcel("T", "O-T", "delivery", "R1", "VAN-1", 8 * H)
    events = (
        Scan("t0", "T", K.SCANNED_AT_DEPOT, spring + timedelta(hours=6)),
        Scan("t1", "T", K.DELIVERED, spring.replace(hour=9).astimezone(UTC)),
    )
    scans_ = DayScans("2026-03-29", "Europe/Helsinki", (parcel,), events, {"VAN-1": 17 * H})
    report = reconcile(scans_, spring.replace(hour=17, minute=30))
    assert report.at_s == 17 * H + 30 * 60
    assert findings(report) == {Anomaly.DELIVERED_NOT_LOADED: ["T"]}
    assert "delivered at 09:00" in report.findings[0].note
