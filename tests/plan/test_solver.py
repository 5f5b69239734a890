"""Tests for the deadline every backend keeps to, and Ctrl-C bringing it forward."""

import os
import signal

from doorstep.plan.solver import Deadline, SolveRequest, SolveSettings, stop_on_interrupt
from plan_problems import order, problem, van


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_deadline_passes_when_its_clock_reaches_it() -> None:
    """Seconds left count down on the deadline's own clock, and it passes at zero."""
    clock = FakeClock()
    deadline = Deadline(105.0, clock)
    assert not deadline.passed() and deadline.left() == 5.0
    clock.now = 105.0
    assert deadline.passed() and deadline.left() == 0.0


def test_stopping_a_deadline_passes_it_at_once() -> None:
    """An interrupt ends the solve whatever the clock says."""
    deadline = Deadline(1e12)
    deadline.stop()
    assert deadline.passed() and deadline.interrupted and deadline.left() == 0.0


def test_ctrl_c_stops_the_deadline_instead_of_raising() -> None:
    """SIGINT inside the block stops the deadline; the previous handler is back after it."""
    before = signal.getsignal(signal.SIGINT)
    deadline = Deadline(1e12)
    with stop_on_interrupt(deadline):
        os.kill(os.getpid(), signal.SIGINT)
    assert deadline.interrupted
    assert signal.getsignal(signal.SIGINT) is before


def test_a_request_ends_at_its_start_plus_the_time_limit() -> None:
    """The request's deadline is its start time plus the time limit."""
    day = problem([order("a", 1, 0)], [van("A")])
    request = SolveRequest(day, SolveSettings(time_limit_s=7.5), started=50.0)
    assert request.deadline.at == 57.5
