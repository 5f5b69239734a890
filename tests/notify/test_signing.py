"""Webhook signatures: the header format, and verify() refusing anything not signed just now."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from doorstep.notify.signing import sign, verify

SECRET = "whsec-test-0123456789"
BODY = b'{"type":"parcel.delivered","data":{"parcel_id":"p1"}}'
T = 1_767_225_600


def test_header_is_the_hmac_of_timestamp_dot_body() -> None:
    """sign() gives t=<t>,v1=<hex HMAC-SHA256 of "<t>.<body>"> as documented."""
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, T) == f"t={T},v1={expected}"


def test_a_fresh_signature_verifies() -> None:
    """The header sign() makes verifies with the same secret and body."""
    assert verify(SECRET, BODY, sign(SECRET, BODY, T), now=T + 10)


def test_a_changed_body_or_another_secret_fails() -> None:
    """One changed byte of the body, or another secret, makes verification fail."""
    header = sign(SECRET, BODY, T)
    assert not verify(SECRET, BODY.replace(b"p1", b"p2"), header, now=T)
    assert not verify("another-secret-0123", BODY, header, now=T)


def test_the_timestamp_must_be_within_the_tolerance() -> None:
    """A signature older or newer than tolerance_s is refused (replays), one inside is not."""
    header = sign(SECRET, BODY, T)
    assert verify(SECRET, BODY, header, tolerance_s=300, now=T + 300)
    assert not verify(SECRET, BODY, header, tolerance_s=300, now=T + 301)
    assert not verify(SECRET, BODY, header, tolerance_s=300, now=T - 301)


def test_a_changed_timestamp_fails() -> None:
    """The timestamp is signed: moving it forward to look fresh breaks the signature."""
    mac = sign(SECRET, BODY, T).split(",")[1]
    assert not verify(SECRET, BODY, f"t={T + 1000},{mac}", now=T + 1000)


def test_any_matching_v1_entry_is_enough() -> None:
    """During a secret rotation a header may carry several v1 entries; one match passes."""
    old = sign("old-secret-0123456789", BODY, T).split(",")[1]
    header = sign(SECRET, BODY, T) + "," + old
    assert verify(SECRET, BODY, header, now=T)
    assert verify("old-secret-0123456789", BODY, header, now=T)


def test_malformed_headers_are_refused() -> None:
    """Headers without t, without v1, or with a non-numeric t are refused, not raised on."""
    good = sign(SECRET, BODY, T)
    mac = good.split(",")[1]
    for header in ["", "garbage", mac, f"t={T}", f"t=abc,{mac}", f"t=-{T},{mac}", "t=,v1="]:
        assert not verify(SECRET, BODY, header, now=T), header


@given(header=st.text(max_size=200), body=st.binary(max_size=100))
def test_verify_never_raises(header: str, body: bytes) -> None:
    """Any header text gives True or False, never an exception (and random text is False)."""
    assert verify(SECRET, body, header, now=T) is False


def _documented_verifier() -> Callable[[str, bytes, str], bool]:
    """The ``verify_doorstep_signature`` function that docs/webhooks.md tells shops to copy."""
    text = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text(encoding="utf-8")
    after = text.split("<!-- verify-snippet:", 1)[1]
    code = after.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)
    verifier: Callable[[str, bytes, str], bool] = namespace["verify_doorstep_signature"]
    return verifier


def test_the_documented_snippet_agrees_with_sign() -> None:
    """The Python snippet in docs/webhooks.md accepts what sign() makes and refuses forgeries."""
    documented = _documented_verifier()
    now = int(time.time())
    header = sign(SECRET, BODY, now)
    assert documented(SECRET, BODY, header)
    assert not documented(SECRET, BODY + b" ", header)
    assert not documented("another-secret-0123", BODY, header)
    assert not documented(SECRET, BODY, sign(SECRET, BODY, now - 3600))
    for bad in ["", "garbage", "t=abc,v1=00", f"t={now}", f"t={now},v1=\u00e9"]:
        assert not documented(SECRET, BODY, bad), bad
