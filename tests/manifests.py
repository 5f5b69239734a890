"""Small manifests written inline and read through the real readers, for tests."""

from __future__ import annotations

from pathlib import Path

from doorstep.gate import Report, validate
from doorstep.io.tables import RawTable, read_table_bytes

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared"

ORDER_HEADER = (
    "order_id,kind,address,unit,zip,city,lat,lon,window_start,window_end,service_min,"
    "parcels,weight_kg,volume_l,skills,priority,phone,email,notes"
)

# Eight clean orders in central Helsinki, two zips, distinct buildings.
CLEAN_ROWS = (
    "C1,delivery,Fredrikinkatu 20,A 3,00120,Helsinki,60.16410,24.93810,09:00,12:00,3,1,2.5,10,,0,"
    "+358 40 1234567,aino@example.fi,",
    "C2,delivery,Fredrikinkatu 22,B 7,00120,Helsinki,60.16440,24.93790,09:00,12:00,3,2,4,20,,0,"
    "+358 50 7654321,,",
    "C3,pickup,Fredrikinkatu 24,,00120,Helsinki,60.16470,24.93770,12:00,16:00,4,1,1,5,,0,,,",
    "C4,delivery,Bulevardi 10,,00120,Helsinki,60.16520,24.93700,12:00,16:00,3,1,0.5,2,,1,,,",
    "C5,delivery,Aleksanterinkatu 15,,00100,Helsinki,60.16880,24.94640,08:00,20:00,2,1,3,8,,0,,,",
    "C6,delivery,Aleksanterinkatu 17,,00100,Helsinki,60.16870,24.94710,,,2,1,3,8,cold,0,,,",
    "C7,delivery,Aleksanterinkatu 19,,00100,Helsinki,60.16860,24.94780,10:00,14:00,2,1,3,8,,0,,,",
    "C8,delivery,Aleksanterinkatu 21,,00100,Helsinki,60.16850,24.94850,10:00,14:00,2,1,3,8,,0,,,",
)

FLEET_HEADER = (
    "vehicle_id,depot_id,depot_lat,depot_lon,profile,shift_start,shift_end,max_duration_min,"
    "break_start,break_end,break_min,capacity_parcels,capacity_kg,capacity_l,cost_fixed,"
    "cost_per_km,cost_per_hour,skills"
)
CLEAN_FLEET = (
    "V1,D1,60.1600,24.9300,van,07:30,16:00,,11:00,13:30,30,120,800,6000,60,0.35,32,cold",
    "V2,D1,60.1600,24.9300,van,11:30,20:00,,15:00,17:30,30,120,800,6000,60,0.35,32,",
    "B1,D1,60.1600,24.9300,bike,08:00,16:00,420,11:30,13:00,30,25,120,500,15,0,28,",
)


def csv_table(header: str, rows: tuple[str, ...] | list[str], kind: str = "orders") -> RawTable:
    """Read inline CSV lines through the real CSV reader."""
    return read_table_bytes("\n".join([header, *rows]).encode(), "csv", kind=kind)


def check(
    *extra: str, fleet: tuple[str, ...] | None = CLEAN_FLEET, base: tuple[str, ...] = CLEAN_ROWS
) -> Report:
    """Validate the clean manifest plus ``extra`` rows (rows 10, 11, ...) with a fleet."""
    fleet_table = csv_table(FLEET_HEADER, fleet, "fleet") if fleet is not None else None
    return validate(csv_table(ORDER_HEADER, [*base, *extra]), fleet_table)


def codes_at(report: Report, row: int) -> set[str]:
    """Codes of the orders-file findings on one row."""
    return {f.code for f in report.findings if f.row == row and f.source == "orders"}


def order_row(order_id: str = "X1", **fields: str) -> str:
    """A clean order row (like C5's building block) with some fields replaced."""
    values = dict(
        zip(
            ORDER_HEADER.split(","),
            (
                f"{order_id},delivery,Bulevardi 30,,00120,Helsinki,60.16560,24.93500,10:00,14:00,"
                "3,1,2,10,,0,,,"
            ).split(","),
            strict=True,
        )
    )
    values.update(fields)
    return ",".join(values[name] for name in ORDER_HEADER.split(","))
