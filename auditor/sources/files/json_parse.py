r"""Parse JSON with orjson; text no UTF-8 can hold (lone UTF-16 surrogates) is removed, and said.

`"\ud800"` is valid JSON syntax (RFC 8259 §8.2: what a reader does with it is unpredictable)
that writers escaping non-ASCII text (Python's `json.dumps`, among others) emit for a name whose
UTF-16 was cut in half. orjson refuses the whole document for it; one such device name must not
refuse a tenant's export. So the document is parsed again by the `json` module, the lone
surrogates are removed from every string (and member name), and the places are returned for a
data-quality note.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_EXTRA = "unexpected content after document"  # orjson's words for JSON lines and the like


def loads(data: bytes | memoryview) -> tuple[Any, list[str]]:
    """The parsed document and the paths (`value[3].deviceName`) of the values repaired.

    Raises:
        orjson.JSONDecodeError: not JSON; orjson's own error (with the message
            "unexpected content after document" where a second document follows).
    """
    try:
        return orjson.loads(data), []
    except orjson.JSONDecodeError as exc:
        if "surrogate" not in exc.msg:
            raise
        error = exc
    try:
        document = json.loads(bytes(data), parse_constant=not_json)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            raise orjson.JSONDecodeError(_EXTRA, exc.doc, exc.pos) from None
        raise error from None
    except ValueError:  # NaN / Infinity, or a number of more than 4,300 digits
        raise error from None
    repaired: list[str] = []
    return _without_surrogates(document, "", repaired), repaired


def without_surrogates(document: Any) -> tuple[Any, list[str]]:
    """A document parsed by the `json` module, its lone surrogates removed, and where they were."""
    repaired: list[str] = []
    return _without_surrogates(document, "", repaired), repaired


def not_json(constant: str) -> None:
    """For `parse_constant`: NaN and Infinity, which the json module accepts, are not JSON."""
    raise ValueError(f"{constant} is not JSON (RFC 8259 has no NaN or Infinity)")


def _without_surrogates(value: Any, path: str, repaired: list[str]) -> Any:
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value) is None:
            return value
        repaired.append(path)
        return _LONE_SURROGATE.sub("", value)
    if isinstance(value, dict):
        cleaned = {}
        for key, member in value.items():
            name = key
            if _LONE_SURROGATE.search(key) is not None:
                name = _LONE_SURROGATE.sub("", key)
                repaired.append(f"{path}.{name}" if path else name)
            cleaned[name] = _without_surrogates(
                member, f"{path}.{name}" if path else name, repaired
            )
        return cleaned
    if isinstance(value, list):
        return [_without_surrogates(v, f"{path}[{i}]", repaired) for i, v in enumerate(value)]
    return value


JSON_TYPES = {
    type(None): "nulls", bool: "booleans", int: "numbers", float: "numbers", str: "strings",
    list: "arrays",
}  # fmt: skip


def json_words(value: Any) -> str:
    """What a parsed JSON value is, in words: `null`, `the number 42`, `the string "x"`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"the string {json.dumps(shown, ensure_ascii=False)}"
    if isinstance(value, list):
        return f"an array of {len(value)} values" if value else "an empty array"
    return "an object" if value else "an empty object"
