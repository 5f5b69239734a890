"""Tests for the phone and email rules."""

import pytest

from doorstep.gate.rules.contact import EMAIL, phone_is_valid
from manifests import check, codes_at, order_row


@pytest.mark.parametrize(
    ("number", "region", "valid"),
    [
        ("+358 40 1234567", None, True),
        ("00358 40 1234567", None, True),
        ("040 1234567", None, True),
        ("040 1234567", "FI", True),
        ("+358 12", None, False),
        ("12-abc", None, False),
        ("123", None, False),
        ("(212) 555-0100", None, True),
    ],
)
def test_phone_validity(number: str, region: str | None, valid: bool) -> None:
    """International numbers follow their plan; national ones need a region to be checked."""
    assert phone_is_valid(number, region) is valid


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        ("aino@example.fi", True),
        ("a.b+c@sub.example.com", True),
        ("maija@", False),
        ("no at", False),
        ("x@localhost", False),
    ],
)
def test_email_validity(email: str, valid: bool) -> None:
    """The WHATWG form definition, with a dot in the domain."""
    assert bool(EMAIL.match(email)) is valid


def test_bad_contact_is_a_warning_not_an_error() -> None:
    """A broken phone and email warn but the order is still planned."""
    report = check(order_row("X1", phone="12-abc", email="maija@"))
    assert codes_at(report, 10) == {"phone_invalid", "email_invalid"}
    assert report.rejected_rows == frozenset()
