"""Rules: the recipient's phone number and email address must be usable for notifications."""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers

from doorstep.domain.finding import Finding, Severity
from doorstep.gate.context import RuleContext

EMAIL = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$"
)
"""The WHATWG HTML definition of a valid e-mail address, requiring a dot in the domain."""

_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")


def phone_is_valid(number: str, region: str | None) -> bool:
    """Whether ``number`` is a usable phone number.

    Numbers with a country code (``+358 40 123 4567`` or ``00358...``) are
    checked against that country's numbering plan; national numbers against
    ``region``'s, or, without a region, for 6 to 15 digits and phone punctuation.
    """
    text = number.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _PHONE_CHARS.match(text):
        return False
    if not text.startswith("+") and region is None:
        return 6 <= sum(ch.isdigit() for ch in text) <= 15
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def check_phone(ctx: RuleContext) -> Iterator[Finding]:
    """Flag malformed phone numbers (``phone_invalid``, warning): notifications would not arrive."""
    region = ctx.settings.phone_region
    for record in ctx.records:
        if record.phone and not phone_is_valid(record.phone, region):
            yield Finding(
                "phone_invalid",
                Severity.WARNING,
                f"phone {record.phone!r} is not a valid number; write it with its country "
                "code (e.g. +358 40 123 4567) so the recipient can be notified.",
                record.row,
                "phone",
            )


def check_email(ctx: RuleContext) -> Iterator[Finding]:
    """Flag malformed email addresses (``email_invalid``, warning)."""
    for record in ctx.records:
        if record.email and not EMAIL.match(record.email):
            yield Finding(
                "email_invalid",
                Severity.WARNING,
                f"email {record.email!r} is not a valid address (like name@example.com); "
                "correct it so the recipient can be notified.",
                record.row,
                "email",
            )
