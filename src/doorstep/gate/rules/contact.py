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
_NOT_DIGIT = re.compile(r"\D")


def _international(digits: str) -> phonenumbers.PhoneNumber | None:
    """Split ``+<digits>`` into country code and national number without a full parse.

    Country calling codes are prefix-free, so the first known 1-3 digit prefix
    is the code. Numbers whose national part starts with 0 (Italy's leading
    zero, a written trunk prefix) are left to the full parser.
    """
    for length in (1, 2, 3):
        code = int(digits[:length] or 0)
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[length:]
            if not national or national[0] == "0" or len(national) > 17:
                return None
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None


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
    if text.startswith("+"):
        quick = _international(_NOT_DIGIT.sub("", text))
        if quick is not None:
            return bool(phonenumbers.is_valid_number(quick))
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def invalid_phone_rows(phones: list[tuple[int, str]], region: str | None) -> set[int]:
    """Rows whose phone number is not valid (see :func:`phone_is_valid`)."""
    return {row for row, number in phones if not phone_is_valid(number, region)}


def check_phone(ctx: RuleContext) -> Iterator[Finding]:
    """Flag malformed phone numbers (``phone_invalid``, warning): notifications would not arrive.

    Large manifests have their numbers checked in a worker process started
    right after reading (see :class:`doorstep.gate.context.RuleContext`).
    """
    invalid = ctx.invalid_phone_rows()
    for record in ctx.records:
        if record.phone and record.row in invalid:
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
