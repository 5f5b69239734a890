"""Tests for the zip-versus-location rule."""

import csv

from doorstep.gate import validate
from doorstep.gate.normalise import normalise_zip
from doorstep.io.tables import read_table_bytes
from manifests import REPO, check, codes_at, order_row

# Four more 00100 stops so that zip is well populated in the base manifest.
MORE_00100 = tuple(
    order_row(f"Z{i}", address=f"Aleksanterinkatu {30 + i}", zip="00100", lat=lat, lon=lon)
    for i, (lat, lon) in enumerate(
        [("60.16900", "24.94900"), ("60.16910", "24.94950"), ("60.16920", "24.95000")]
    )
)


def test_stop_among_another_zip_is_flagged() -> None:
    """A 00100 stop placed among the 00120 stops, 1 km from any 00100 stop, is a mismatch."""
    report = check(*MORE_00100, order_row("X1", zip="00100", lat="60.16455", lon="24.93785"))
    row = 10 + len(MORE_00100)
    assert codes_at(report, row) == {"zip_mismatch"}
    assert {f.row for f in report.findings} == {row}


def test_stop_inside_its_own_zip_is_not_flagged() -> None:
    """The same stop with its correct zip raises nothing."""
    report = check(*MORE_00100, order_row("X1", zip="00120", lat="60.16455", lon="24.93785"))
    assert report.findings == ()


def test_zip_normalisation() -> None:
    """Spaces, dashes and case do not make two zips differ."""
    assert normalise_zip("sw1a 1aa") == normalise_zip("SW1A-1AA") == "SW1A1AA"


def test_real_helsinki_addresses_with_their_own_zips_raise_nothing() -> None:
    """Every real OSM address in central Helsinki, with its real postcode, passes the rule."""
    with (REPO / "examples" / "helsinki" / "addresses.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["zip"]]
    lines = ["order_id,address,zip,lat,lon"] + [
        f'A{i},"{r["street"]} {r["housenumber"]}",{r["zip"]},{r["lat"]},{r["lon"]}'
        for i, r in enumerate(rows)
    ]
    report = validate(read_table_bytes("\n".join(lines).encode(), "csv"))
    assert len(rows) > 300
    assert "zip_mismatch" not in report.by_code()


def _zip_report(*zips: str):  # type: ignore[no-untyped-def]
    lines = ["order_id,zip,lat,lon"]
    lines += [f"Z{k},{code},60.16{k:02d},24.93{k:02d}" for k, code in enumerate(zips)]
    return validate(read_table_bytes("\n".join(lines).encode(), "csv"))


def test_zip_turned_into_a_number_is_an_error_naming_the_original() -> None:
    """120.0 among 5-digit zips is zip_number_mangled, an error, naming 00120."""
    report = _zip_report("00100", "00120", "00130", "00140", "120.0")
    found = [f for f in report.findings if f.code == "zip_number_mangled"]
    assert len(found) == 1 and found[0].row == 6 and found[0].severity.value == "error"
    assert "120.0 looks like 00120" in found[0].message and "as text" in found[0].message


def test_zip_without_its_leading_zeros_and_in_scientific_notation() -> None:
    """120 among 5-digit zips names 00120; 1.2E+04 says the digits are lost."""
    report = _zip_report("00100", "00120", "00130", "00140", "120", "1.2E+04")
    messages = {f.row: f.message for f in report.findings if f.code == "zip_number_mangled"}
    assert "looks like 00120 with its leading zeros dropped" in messages[6]
    assert "scientific notation" in messages[7]


def test_ordinary_zips_are_not_mangled() -> None:
    """Zips of one length, or of several lengths with none dominant, raise no such finding."""
    for zips in (("00100", "00120", "00130", "00140"), ("SW1A 1AA", "1010", "75001", "90210")):
        assert "zip_number_mangled" not in {f.code for f in _zip_report(*zips).findings}
