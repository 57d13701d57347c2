"""The arguments a report quotes: a spec's stated reasons and a data card's caveats.

A spec argues its choices in TOML comments (``models/*.toml``: the comment block above a key
and the comment after it); :func:`spec_reasons` reads them back as plain text, keyed by
``"section.key"``. A bundled case's data card (``data/cases/CASE/README.md``) lists its
caveats under ``## Caveats``; :func:`card_caveats` reads them as plain sentences.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["card_caveats", "spec_reasons"]

_SECTION = re.compile(r"^\s*\[([A-Za-z0-9_.]+)\]\s*(?:#(.*))?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=")
_MARKUP = re.compile(r"\*\*|`")


def _inline_comment(line: str) -> str:
    """The comment after a value (a ``#`` outside quotes), or ``""``."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[i + 1 :].strip()
    return ""


def spec_reasons(path: str | Path | None) -> dict[str, str]:
    """The comments that argue each key of a TOML spec, as ``{"section.key": text}``.

    The text is the block of comment lines directly above the key (no blank line between)
    followed by the comment on the key's own line. A spec without comments, a missing path
    or an unreadable file gives ``{}``: the report then says the spec states no reason.
    """
    if not path:
        return {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    out: dict[str, str] = {}
    section, block = "", []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            block.append(stripped.lstrip("#").strip())
            continue
        head, key = _SECTION.match(line), _KEY.match(line)
        if head:
            section = head.group(1)
        elif key:
            text = " ".join([*block, _inline_comment(line)]).strip()
            if text:
                out[f"{section}.{key.group(1)}"] = " ".join(text.split())
        block = []
    return out


def card_caveats(path: str | Path | None) -> list[str]:
    """The items of a data card's ``## Caveats`` section, as plain sentences (``[]`` when
    the card or the section is missing)."""
    if not path:
        return []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return []
    items: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line[3:].strip().lower() == "caveats"
            continue
        if not inside or not line.strip():
            continue
        if line.lstrip().startswith(("- ", "* ")):
            items.append(line.lstrip()[2:].strip())
        elif items:
            items[-1] += " " + line.strip()
    return [_MARKUP.sub("", item) for item in items]
