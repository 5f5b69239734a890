"""Normal forms of zip codes and street addresses, so that spelling does not split a place."""

from __future__ import annotations

import re
from functools import lru_cache

_PUNCTUATION = re.compile(r"[^\w\s]")


@lru_cache(maxsize=65_536)
def normalise_zip(code: str) -> str:
    """Zip code without spaces or dashes, upper-cased: ``"sw1a 1aa"`` -> ``"SW1A1AA"``."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def normalise_street(address: str) -> str:
    """Street address lower-cased, punctuation dropped, spaces collapsed."""
    return " ".join(_PUNCTUATION.sub(" ", address.lower()).split())


def building_key(address: str, zip_code: str) -> str:
    """A key for the building: normalised street address and zip code."""
    return f"{normalise_street(address)}|{normalise_zip(zip_code)}"
