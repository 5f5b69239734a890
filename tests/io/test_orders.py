"""Tests for parsing order rows into records."""

from doorstep.domain import OrderKind
from doorstep.io.orders import parse_orders
from manifests import ORDER_HEADER, csv_table, order_row


def _parse(*rows: str) -> tuple[list, list]:  # type: ignore[type-arg]
    return parse_orders(csv_table(ORDER_HEADER, list(rows)))


def test_clean_row_converts_to_internal_units() -> None:
    """Weights become grams, volumes millilitres, minutes seconds, times seconds of day."""
    records, findings = _parse(order_row("A1", weight_kg="2.5", volume_l="1.25", service_min="3"))
    assert findings == []
    record = records[0]
    assert (record.weight_g, record.volume_ml, record.service_s) == (2_500, 1_250, 180)
    assert record.windows == [(36_000, 50_400)]


def test_defaults_for_empty_cells() -> None:
    """An empty kind is a delivery with one parcel and no window."""
    records, _ = _parse(order_row("A1", kind="", parcels="", window_start="", window_end=""))
    assert records[0].kind is OrderKind.DELIVERY
    assert records[0].parcels == 1
    assert records[0].windows == []


def test_kind_synonyms_and_bad_kind() -> None:
    """'return' is a pickup; an unknown kind is kind_invalid."""
    records, findings = _parse(order_row("A1", kind="Return"), order_row("A2", kind="teleport"))
    assert records[0].kind is OrderKind.PICKUP
    assert [(f.row, f.code, f.field) for f in findings] == [(3, "kind_invalid", "kind")]


def test_unparseable_values_name_row_and_field() -> None:
    """Each unparseable value gives one error naming its row and field."""
    records, findings = _parse(
        order_row("A1", lat="60.17x"),
        order_row("A2", weight_kg="heavy", parcels="-2"),
        order_row("A3", window_start="half past nine"),
        order_row("A4", priority="high"),
    )
    got = {(f.row, f.code, f.field) for f in findings}
    assert got == {
        (2, "coord_unparseable", "lat"),
        (3, "quantity_not_numeric", "weight_kg"),
        (3, "quantity_negative", "parcels"),
        (4, "window_unparseable", "window_start"),
        (5, "priority_invalid", "priority"),
    }
    assert len(records) == 4


def test_multiple_windows_column() -> None:
    """A time_windows column holds several windows."""
    table = csv_table("order_id,lat,lon,time_windows", ['A1,60,24,"08:00-10:00;14:00-16:00"'])
    records, findings = parse_orders(table)
    assert findings == []
    assert records[0].windows == [(28_800, 36_000), (50_400, 57_600)]


def test_lateness_cost_column_makes_money_per_hour() -> None:
    """late_cost (a synonym) is money per hour: 12.5 becomes 1,250 cents; negative is refused."""
    header = ORDER_HEADER + ",late_cost"
    records, findings = parse_orders(
        csv_table(
            header, [order_row("A1") + ",12.5", order_row("A2") + ",-3", order_row("A3") + ","]
        )
    )
    assert [r.late_cost_per_hour for r in records] == [1250, 0, 0]
    assert [(f.row, f.code, f.field) for f in findings] == [
        (3, "quantity_negative", "late_cost_per_hour")
    ]


def test_an_id_the_service_would_refuse_is_an_error_on_its_row() -> None:
    """'A/1' and 'B 2' are order_id_invalid findings naming row and field; 'C-3' is fine."""
    records, findings = _parse(order_row("A/1"), order_row("B 2"), order_row("C-3"))
    assert [(f.row, f.code, f.field) for f in findings] == [
        (2, "order_id_invalid", "order_id"),
        (3, "order_id_invalid", "order_id"),
    ]
    assert "order_id" in records[0].unparsed and not records[2].unparsed
