"""Tests for column-name matching."""

from doorstep.io.columns import match_columns, normalise


def test_normalise_folds_case_space_and_punctuation() -> None:
    """Header cells normalise to snake case without BOM or units in brackets."""
    assert normalise("\ufeff Postal Code ") == "postal_code"
    assert normalise("Weight (kg)") == "weight_kg"


def test_synonyms_map_to_canonical_names() -> None:
    """Common synonyms are recognised, unknown columns are not."""
    found = match_columns(["Latitude", "LNG", "Postcode", "Apt", "internal_ref"])
    assert found == {0: "lat", 1: "lon", 2: "zip", 3: "unit"}


def test_exact_name_beats_synonym() -> None:
    """When a synonym and the canonical name both appear, the canonical one is used."""
    assert match_columns(["id", "order_id"]) == {1: "order_id"}
    assert match_columns(["order_id", "id"]) == {0: "order_id"}


def test_fleet_vocabulary_is_separate() -> None:
    """In a fleet file 'capacity' is capacity_parcels, not an order column."""
    assert match_columns(["vehicle", "capacity"], kind="fleet") == {
        0: "vehicle_id",
        1: "capacity_parcels",
    }
