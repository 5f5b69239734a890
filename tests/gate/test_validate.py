"""Tests for the gate as a whole: the shipped sample, accounting of rows, the report."""

import csv

from doorstep.domain import Severity
from doorstep.gate import EXIT_CLEAN, EXIT_ERRORS, EXIT_WARNINGS, validate, validate_files
from doorstep.io.tables import read_table_bytes
from manifests import REPO, check, csv_table, order_row

SAMPLE = REPO / "examples" / "helsinki"


def test_sample_manifest_finds_exactly_the_planted_defects() -> None:
    """Each planted defect is found with its code on its row; no other row has a finding."""
    with (SAMPLE / "planted_defects.csv").open(encoding="utf-8") as handle:
        planted = {int(row["row"]): row["code"] for row in csv.DictReader(handle)}
    report = validate_files(SAMPLE / "orders.csv", SAMPLE / "fleet.csv")
    found: dict[int, set[str]] = {}
    for finding in report.findings:
        assert finding.row is not None
        found.setdefault(finding.row, set()).add(finding.code)
    assert found == {row: {code} for row, code in planted.items()}
    assert len(planted) >= 20


def test_sample_accounts_for_every_row() -> None:
    """Accepted plus rejected rows equals rows read; errors reject, warnings do not."""
    report = validate_files(SAMPLE / "orders.csv", SAMPLE / "fleet.csv")
    assert report.rows == 300
    assert report.accepted + len(report.rejected_rows) == report.rows
    warned = {f.row for f in report.findings if f.severity is Severity.WARNING}
    assert not warned & report.rejected_rows
    assert report.fleet is not None and len(report.fleet.vehicles) == 7


def test_exit_codes_follow_the_worst_severity() -> None:
    """0 when clean, 1 with warnings only, 2 with an error."""
    assert check().exit_code == EXIT_CLEAN
    assert check(order_row("X1", phone="12-abc")).exit_code == EXIT_WARNINGS
    assert check(order_row("X1", lat="")).exit_code == EXIT_ERRORS


def test_accepted_orders_carry_internal_units_and_merged_windows() -> None:
    """Accepted orders are domain Orders in internal units; overlapping windows merge."""
    table = csv_table(
        "order_id,lat,lon,time_windows,weight_kg",
        ['X1,60.1656,24.935,"08:00-10:00; 09:00-11:00; 14:00-15:00",2.5'],
    )
    (order,) = validate(table).orders
    assert [(w.start, w.end) for w in order.windows] == [(28_800, 39_600), (50_400, 54_000)]
    assert order.demand.weight_g == 2_500


def test_json_shape_is_the_documented_one() -> None:
    """as_dict has the documented keys, and every finding the documented fields."""
    report = check(order_row("X1", lat=""))
    document = report.as_dict()
    assert {"rows", "accepted", "rejected", "errors", "warnings", "findings"} <= set(document)
    assert document["rows"] == 9 and document["accepted"] == 8 and document["rejected"] == 1
    findings = document["findings"]
    assert isinstance(findings, list)
    assert set(findings[0]) == {"row", "field", "code", "severity", "message", "source"}


def test_shifted_row_is_rejected_not_misread() -> None:
    """A row with more values than the header (unquoted comma) is rejected as a whole."""
    table = csv_table(
        "order_id,address,lat,lon", ["A1,Bulevardi 1,60.16,24.93", "A2,Bulevardi, 3,60.16,24.93"]
    )
    report = validate(table)
    assert [(f.row, f.code) for f in report.findings] == [(3, "row_extra_values")]
    assert [o.id for o in report.orders] == ["A1"]


def test_unreadable_json_item_is_named() -> None:
    """A JSON item that is not an object is rejected with its position, the rest is kept."""
    table = read_table_bytes(b'[{"order_id": "A1", "lat": 60.1, "lon": 24.9}, "oops"]', "json")
    report = validate(table)
    assert [(f.row, f.code) for f in report.findings] == [(2, "row_unreadable")]
    assert report.accepted == 1
