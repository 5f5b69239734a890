"""ETAs of the remaining stops: the evaluator's rule replayed from what happened."""

from __future__ import annotations

from doorstep.dispatch.eta import StopTimes, estimate

H = 3600
M = 60


def test_without_events_the_estimate_is_the_plan() -> None:
    """Departure 08:00, legs of 10 min, 5 min service, a window opening at 09:00 makes it wait."""
    stops = [
        StopTimes(10 * M, 5 * M),
        StopTimes(10 * M, 5 * M, window_start_s=9 * H),
        StopTimes(10 * M, 5 * M),
    ]
    assert estimate(stops, 8 * H) == [8 * H + 10 * M, 8 * H + 25 * M, 9 * H + 15 * M]


def test_a_late_finish_pushes_every_later_stop() -> None:
    """Stop 1 finished at 08:40 instead of 08:15: stop 2 at 08:50, stop 3 at 09:05."""
    stops = [
        StopTimes(10 * M, 5 * M, arrived_s=8 * H + 30 * M, finished_s=8 * H + 40 * M),
        StopTimes(10 * M, 5 * M),
        StopTimes(10 * M, 5 * M),
    ]
    assert estimate(stops, 8 * H) == [8 * H + 30 * M, 8 * H + 50 * M, 9 * H + 5 * M]


def test_nothing_pending_is_expected_before_now() -> None:
    """At 10:00 with stop 2 not reached, its ETA is 10:00, not the planned 08:25."""
    stops = [
        StopTimes(10 * M, 5 * M, finished_s=8 * H + 15 * M),
        StopTimes(10 * M, 5 * M),
        StopTimes(10 * M, 5 * M),
    ]
    etas = estimate(stops, 8 * H, now_s=10 * H)
    assert etas[1] == 10 * H and etas[2] == 10 * H + 15 * M


def test_a_vehicle_at_a_stop_leaves_after_its_service() -> None:
    """Arrived at 09:00 (window already open): the next stop is 09:15 at the earliest."""
    stops = [StopTimes(10 * M, 5 * M, arrived_s=9 * H), StopTimes(10 * M, 5 * M)]
    assert estimate(stops, 8 * H, now_s=9 * H + 1 * M) == [9 * H, 9 * H + 15 * M]


def test_a_late_departure_moves_every_stop_before_the_first_scan() -> None:
    """Leaving at 08:15 instead of 07:30 moves the first stops' ETAs by 45 minutes."""
    stops = [StopTimes(10 * M, 5 * M), StopTimes(10 * M, 5 * M)]
    planned = estimate(stops, 7 * H + 30 * M)
    late = estimate(stops, 8 * H + 15 * M, now_s=8 * H + 20 * M)
    assert [b - a for a, b in zip(planned, late, strict=True)] == [45 * M, 45 * M]


def test_a_stop_passed_without_a_scan_is_not_expected_before_the_last_scan() -> None:
    """Stop 2 was skipped (stop 3 arrived at 09:30): its ETA is 09:30, not the planned 08:25.

    The bound moves only stop 2: stop 3 keeps its actual arrival and stop 4
    follows stop 3's service, as without the skipped stop.
    """
    stops = [
        StopTimes(10 * M, 5 * M, arrived_s=8 * H + 10 * M, finished_s=8 * H + 15 * M),
        StopTimes(10 * M, 5 * M),
        StopTimes(10 * M, 5 * M, arrived_s=9 * H + 30 * M),
        StopTimes(10 * M, 5 * M),
    ]
    etas = estimate(stops, 8 * H)
    assert etas == [8 * H + 10 * M, 9 * H + 30 * M, 9 * H + 30 * M, 9 * H + 45 * M]


def test_a_passed_stop_is_bounded_by_the_latest_finish_too() -> None:
    """A stop skipped before a delivery finished at 10:00 (no arrival scan) is not due before it."""
    stops = [
        StopTimes(10 * M, 5 * M),
        StopTimes(10 * M, 5 * M, finished_s=10 * H),
    ]
    etas = estimate(stops, 8 * H, now_s=9 * H)
    assert etas[0] == 10 * H
    assert etas[1] == 10 * H - 5 * M  # its arrival: the finish less its service
