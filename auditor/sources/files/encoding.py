"""Bytes before parsing: gzip, text encodings (UTF-8 with or without BOM, UTF-16), bad bytes."""

from __future__ import annotations

import codecs
import gzip
import re
import zlib

from auditor.errors import SourceError

GZIP, ZIP = b"\x1f\x8b", (b"PK\x03\x04", b"PK\x05\x06")
NON_SPACE = re.compile(rb"\S")


def gunzip(data: bytes, name: str) -> bytes:
    """Decompress gzip bytes; damaged or cut-short data is a SourceError naming the file."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"{name}: gzip data is damaged or cut short ({exc})") from exc


def as_utf8(data: bytes, name: str) -> bytes:
    """UTF-8 bytes without a BOM; UTF-16 (BOM, or NULs every other byte) is transcoded."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    encoding = None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        head = data[:256]
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if len(head) >= 8 and odd >= 0.9 * (len(head) // 2) and even == 0:
            encoding = "utf-16-le"
        elif len(head) >= 8 and even >= 0.9 * (len(head) // 2) and odd == 0:
            encoding = "utf-16-be"
    if encoding is None:
        return data
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{name}: byte {exc.start}: not valid {encoding.upper()} text ({exc.reason})"
        ) from exc


def undecodable(text: bytes, name: str, first_line: int = 1) -> SourceError | None:
    """A SourceError locating the first byte that is not UTF-8, or None when all is valid."""
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = text.count(b"\n", 0, exc.start) + first_line
        column = exc.start - (text.rfind(b"\n", 0, exc.start) + 1) + 1
        return SourceError(
            f"{name}: line {line} column {column}: byte 0x{text[exc.start]:02x} is not valid "
            "UTF-8 (save the file as UTF-8 or UTF-16)"
        )
    return None
