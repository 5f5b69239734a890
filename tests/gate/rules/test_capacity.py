"""Tests for the capacity and skill rules."""

from manifests import check, codes_at, order_row


def test_heavier_than_every_vehicle() -> None:
    """1,800 kg exceeds the largest van's 800 kg and names the weight field."""
    report = check(order_row("X1", weight_kg="1800"))
    assert codes_at(report, 10) == {"demand_exceeds_capacity"}
    finding = report.findings[0]
    assert finding.field == "weight_kg"
    assert "800.0 kg" in finding.message


def test_fits_each_dimension_somewhere_but_no_single_vehicle() -> None:
    """130 parcels fit no vehicle (max 120), even though 130 light parcels weigh little."""
    report = check(order_row("X1", parcels="130", weight_kg="1", volume_l="1"))
    assert codes_at(report, 10) == {"demand_exceeds_capacity"}


def test_load_at_the_limit_fits() -> None:
    """Exactly a van's capacity is fine."""
    report = check(order_row("X1", parcels="120", weight_kg="800", volume_l="6000"))
    assert codes_at(report, 10) == set()


def test_unknown_skill() -> None:
    """A skill no vehicle has is an error naming the skill and the fleet's skills."""
    report = check(order_row("X1", skills="crane"))
    assert codes_at(report, 10) == {"skill_unavailable"}
    assert "'crane'" in report.findings[0].message
    assert "cold" in report.findings[0].message


def test_skills_known_but_never_together() -> None:
    """Two skills that exist on different vehicles but not on one are flagged."""
    fleet = (
        "V1,D1,60.16,24.93,van,07:30,16:00,,,,,120,800,6000,60,0.35,32,cold",
        "V2,D1,60.16,24.93,van,07:30,16:00,,,,,120,800,6000,60,0.35,32,id_check",
    )
    report = check(order_row("X1", skills="cold;id_check"), fleet=fleet)
    assert codes_at(report, 10) == {"skill_unavailable"}
    assert "no single vehicle" in report.findings[0].message
