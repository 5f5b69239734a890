"""Tests for the one id rule of orders, depots, vehicles and drivers."""

import pytest
from pydantic import TypeAdapter, ValidationError

from doorstep.api.deps import Id
from doorstep.domain.ids import ID_MAX_LENGTH, check_id, id_finding, id_problem, is_valid_id
from doorstep.errors import DomainError

VALID = ["A1", "HEL-000101", "ord_7.b:2", "x" * ID_MAX_LENGTH, "-", "2024-05-01T10:00"]
INVALID = ["", "A/1", "A 1", "#1001", "a?b", "50%", "ä1", "A1\n", "x" * (ID_MAX_LENGTH + 1)]


@pytest.mark.parametrize("value", VALID)
def test_valid_ids_pass(value: str) -> None:
    """Letters, digits, '.', '_', ':' and '-' up to the length limit are ids."""
    assert is_valid_id(value) and id_problem(value) is None and check_id(value) == value


@pytest.mark.parametrize("value", INVALID)
def test_invalid_ids_are_refused_with_a_reason(value: str) -> None:
    """An empty id, a slash, a space, '#', a final newline or a too-long id is refused."""
    assert not is_valid_id(value)
    with pytest.raises(DomainError):
        check_id(value)


@pytest.mark.parametrize("value", VALID + INVALID)
def test_api_id_type_agrees_with_the_domain_rule(value: str) -> None:
    """The API's Id type accepts exactly the ids the domain rule accepts."""
    try:
        TypeAdapter(Id).validate_python(value)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == is_valid_id(value)


def test_the_reason_names_the_bad_character() -> None:
    """The message quotes the first character that is not allowed."""
    assert "'/'" in (id_problem("A/1") or "")


def test_id_finding_names_row_and_field_and_leaves_empty_ids_alone() -> None:
    """A bad id is an error on its row and field; an empty one is the gate's to report."""
    finding = id_finding("V 1", 4, "vehicle_id", "fleet_vehicle_id_invalid", "fleet")
    assert finding is not None
    assert (finding.row, finding.field, finding.code, finding.source) == (
        4,
        "vehicle_id",
        "fleet_vehicle_id_invalid",
        "fleet",
    )
    assert id_finding("", 4, "vehicle_id", "fleet_vehicle_id_invalid") is None
    assert id_finding("V1", 4, "vehicle_id", "fleet_vehicle_id_invalid") is None
