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
