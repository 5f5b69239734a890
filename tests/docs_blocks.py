"""The examples of the documentation, found by their ``<!-- example: NAME -->`` markers.

Tests run each marked block against the real code, so a documented example that
stops working fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
_BLOCK = re.compile(r"<!-- example: ([\w-]+)[^>]*-->\n```(\w*)\n(.*?)\n```", re.DOTALL)


def examples(doc: str, section: str | None = None) -> dict[str, str]:
    """The marked blocks of ``docs/<doc>`` (of one ``## section`` if given), by name."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    if section is not None:
        text = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return {name: body for name, _lang, body in _BLOCK.findall(text)}


def unmarked_blocks(doc: str, section: str | None = None, langs: tuple[str, ...] = ()) -> int:
    """How many ``langs`` blocks of ``docs/<doc>`` (or one section) carry no marker."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    if section is not None:
        text = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    fences = re.findall(r"(?:<!-- (?:example|verify-snippet):[^>]*-->\n)?```(\w+)\n", text)
    marked = re.findall(r"<!-- (?:example|verify-snippet):[^>]*-->\n```(\w+)\n", text)
    return sum(lang in langs for lang in fences) - sum(lang in langs for lang in marked)
