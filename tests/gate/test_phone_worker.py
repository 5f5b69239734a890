"""Tests for the phone-check worker process."""

import sys

import pytest

from doorstep.gate import GateSettings, validate
from doorstep.gate.phone_worker import PhoneWorker
from doorstep.gate.rules.contact import invalid_phone_rows
from manifests import (
    CLEAN_FLEET,
    CLEAN_ROWS,
    FLEET_HEADER,
    ORDER_HEADER,
    codes_at,
    csv_table,
    order_row,
)

PHONES = [(2, "+358 40 1234567"), (3, "12-abc"), (4, "+358 12"), (5, "040 1234567")]


def test_worker_agrees_with_the_in_process_check() -> None:
    """The child process finds the same invalid rows as the in-process check."""
    worker = PhoneWorker(PHONES, None)
    try:
        assert worker.result() == invalid_phone_rows(PHONES, None) == {3, 4}
    finally:
        worker.close()


def test_worker_falls_back_when_the_child_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the interpreter cannot be started, the numbers are checked in-process."""
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    worker = PhoneWorker(PHONES, None)
    assert worker.result() == {3, 4}
    worker.close()


def test_gate_gives_the_same_report_with_and_without_the_worker() -> None:
    """With the threshold at 1 (worker always on) the report is the same as in-process."""
    rows = [*CLEAN_ROWS, order_row("X1", phone="12-abc"), order_row("X2", phone="+358 40 7654321")]
    fleet = csv_table(FLEET_HEADER, CLEAN_FLEET, "fleet")
    without = validate(csv_table(ORDER_HEADER, rows), fleet, GateSettings(worker_min_phones=0))
    with_worker = validate(csv_table(ORDER_HEADER, rows), fleet, GateSettings(worker_min_phones=1))
    assert codes_at(with_worker, 10) == {"phone_invalid"}
    assert with_worker.findings == without.findings
