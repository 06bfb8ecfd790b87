"""Inventory text made safe to show: control characters removed, hostile lengths capped.

Every text value of the canonical frames passes `safe_text` once, in normalize, so renderers
never meet a value that stalls or breaks them:

- **Control characters** — C0 except tab and newline, DEL, C1, and lone UTF-16 surrogates —
  are removed (XML, and so the workbook and WeasyPrint, cannot carry most of them; in a
  name they only hide text). Each field that lost some gets one `control_characters` note.
- **Length**: a value longer than `TEXT_LIMIT` (256) characters keeps its first characters
  and ends with a mark that says it was cut, how long it was, and a reference that tells it
  apart from other cut values: `ABC… [cut: 1,048,576 characters, ref 3f2a…]`. The `capped`
  note per field gives each cut value's Mac, length and SHA-256 (of its UTF-8 text, white
  space around it trimmed and control characters removed). 256 is the longest name
  Intune's setDeviceName takes (255 for iOS, 250 for macOS, as the PowerShell Gallery
  module MEMShell 0.1.2 enforces it in Update-DeviceManagedDeviceName.ps1) plus one; an
  Entra UPN is at most 113 characters (64 + @ + 48; Specops' Entra provisioning guidelines,
  specopssoft.com/support/authentication-o365/provisioning-guidelines.htm). WeasyPrint
  needs minutes to break a 16,000-character word into lines; 256 lays out in milliseconds.

The reference is the start of the SHA-256 of the value case-folded: two values that differ
keep differing after the cut, and two that differ only in case (an id, a serial number,
which match in any case) still match, as they would uncut.

`without_controls` is the same removal for any text; the PDF and HTML renderers apply it to
what they render as a safety net for text that does not come from the inventory.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from auditor.models import QualityNote
from auditor.normalize.values import arrow_strings

TEXT_LIMIT = 256
"""Characters an inventory text keeps (docs/inputs.md, "Hostile sizes")."""

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_RE2 = r"[\x00-\x08\x0b-\x1f\x7f-\x{9f}]"  # Arrow text is UTF-8: no surrogates in it
_DIGEST_SHOWN = 16  # hex digits of the reference in the mark: 64 bits tell values apart

_EXAMPLES = 5

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Cut:
    """One value that was cut: its row, length in characters and the SHA-256 of its text."""

    row: int
    length: int
    sha256: str


@dataclass(frozen=True, slots=True)
class SafeText:
    """A text column made safe, with what was done to which rows.

    `removed` maps a row to the control characters taken out of it (as `U+0001` words).
    """

    values: pd.Series
    removed: dict[int, str]
    cuts: list[Cut]

    @property
    def changed(self) -> Mask:
        """Rows whose value changed (control characters removed or cut)."""
        rows = np.zeros(len(self.values), dtype=bool)
        rows[list(self.removed)] = True
        rows[[c.row for c in self.cuts]] = True
        return rows


def without_controls(text: str) -> str:
    """`text` without C0 (but tab and newline), DEL, C1 and lone surrogates."""
    return _CONTROL.sub("", text)


def capped(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` at most `limit` characters: the start, then a mark with its length and reference."""
    if len(text) <= limit:
        return text
    return _cut(text, limit)


def quoted(text: str, limit: int = 80) -> str:
    """Text from an input as a message or note quotes it: without controls, at most `limit`."""
    return capped(without_controls(text), limit)


def _cut(text: str, limit: int) -> str:
    """The start of `text`, then the mark: its length and a case-blind reference to it."""
    folded = text.casefold().encode("utf-8", "surrogatepass")
    reference = hashlib.sha256(folded).hexdigest()[:_DIGEST_SHOWN]
    mark = f"… [cut: {len(text):,} characters, ref {reference}]"
    return text[: max(limit - len(mark), 0)] + mark


def safe_text(text: pd.Series) -> SafeText:
    """Remove control characters from a text column and cut values over `TEXT_LIMIT`.

    `text` is a nullable string column (`values.text_column`). Only the rows that need it
    are touched; the others keep their (Arrow) storage.
    """
    rows = _rows_to_check(text)
    if not len(rows):
        return SafeText(text, {}, [])
    values = text.to_numpy(dtype=object)
    removed: dict[int, str] = {}
    cuts: list[Cut] = []
    fixed: list[str | None] = []
    for row in rows.tolist():
        value = values[row]
        found = _CONTROL.findall(value)
        if found:
            removed[row] = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(found))
            value = _CONTROL.sub("", value)
        value = value.strip()  # as `values.text_column` trims every value
        if len(value) > TEXT_LIMIT:
            digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
            cuts.append(Cut(row, len(value), digest))
            value = _cut(value, TEXT_LIMIT)
        fixed.append(value or None)
    result = text.copy()
    result.iloc[rows] = fixed
    return SafeText(result, removed, cuts)


def safe_raw(column: pd.Series) -> SafeText:
    """`safe_text` for a raw column as a reader made it: only its text values change.

    Numbers, booleans and nested values stay as they are (the typed steps read them).
    """
    values = column.to_numpy(dtype=object)
    texts = [v for v in values if v.__class__ is str]
    if not texts or (
        max(map(len, texts)) <= TEXT_LIMIT and _CONTROL.search("\n".join(texts)) is None
    ):
        return SafeText(column, {}, [])
    rows = [i for i, v in enumerate(values) if v.__class__ is str]
    safe = safe_text(pd.Series([values[i] for i in rows], dtype=object))
    fixed = values.copy()
    fixed[rows] = safe.values.to_numpy(dtype=object)
    return SafeText(
        pd.Series(fixed, index=column.index, dtype=object),
        {rows[r]: chars for r, chars in safe.removed.items()},
        [Cut(rows[c.row], c.length, c.sha256) for c in safe.cuts],
    )


def _rows_to_check(text: pd.Series) -> npt.NDArray[np.intp]:
    """Rows holding a control character or more than `TEXT_LIMIT` characters."""
    strings = arrow_strings(text) if len(text) else None
    if strings is not None:
        checks = []
        if (pc.max(pc.binary_length(strings)).as_py() or 0) > TEXT_LIMIT:  # bytes ≥ characters
            checks.append(pc.greater(pc.utf8_length(strings), TEXT_LIMIT))
        if _may_hold_controls(strings):
            checks.append(pc.match_substring_regex(strings, _CONTROL_RE2))
        if not checks:
            return np.zeros(0, dtype=np.intp)
        flagged = checks[0] if len(checks) == 1 else pc.or_(*checks)
        return np.flatnonzero(np.asarray(pc.fill_null(flagged, False).to_numpy(False)))
    values = text.to_numpy(dtype=object)
    return np.flatnonzero(
        [
            isinstance(v, str) and (len(v) > TEXT_LIMIT or _CONTROL.search(v) is not None)
            for v in values
        ]
    )


def text_notes(
    field: str, safe: SafeText, handles: pd.Series, sources: Callable[[Mask], str]
) -> list[QualityNote]:
    """The `control_characters` and `capped` notes of one field (none when nothing changed).

    `handles` names each row (a Mac's name and serial); `sources` names the inputs of rows.
    """
    notes = []
    if safe.removed:
        rows = list(safe.removed)
        examples = tuple(f"{handles.iloc[r]}: {safe.removed[r]} removed" for r in rows[:_EXAMPLES])
        notes.append(
            QualityNote(
                field, "control_characters", len(rows), examples, sources(_mask(rows, safe))
            )
        )
    if safe.cuts:
        examples = tuple(
            f"{handles.iloc[c.row]}: {c.length:,} characters cut to {TEXT_LIMIT}; sha256 {c.sha256}"
            for c in safe.cuts[:_EXAMPLES]
        )
        rows = [c.row for c in safe.cuts]
        notes.append(QualityNote(field, "capped", len(rows), examples, sources(_mask(rows, safe))))
    return notes


def _mask(rows: list[int], safe: SafeText) -> Mask:
    mask = np.zeros(len(safe.values), dtype=bool)
    mask[rows] = True
    return mask


def _may_hold_controls(strings: pa.ChunkedArray) -> bool:
    """A fast look at the UTF-8 bytes: False when no value can hold a control character.

    C0 and DEL are single bytes; C1 characters start with byte 0xC2 (as do £, °, NBSP …,
    which only send the column to the exact check).
    """
    for chunk in strings.chunks:
        data = chunk.buffers()[2]
        if data is None:
            continue
        octets = np.frombuffer(data, dtype=np.uint8)
        low = (octets < 0x20) & (octets != 0x09) & (octets != 0x0A)
        if low.any() or (octets == 0x7F).any() or (octets == 0xC2).any():
            return True
    return False
