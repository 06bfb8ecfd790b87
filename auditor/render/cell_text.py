"""Text a spreadsheet would not keep as written: one definition for the CSV files and the workbook.

Excel, LibreOffice and Google Sheets run a cell whose text starts with one of
`FORMULA_TRIGGERS` as a formula (OWASP, "CSV Injection":
https://owasp.org/www-community/attacks/CSV_Injection), so such text is quote-prefixed.
XML 1.0 cannot carry the code points of `ILLEGAL_RANGES` at all
(https://www.w3.org/TR/xml/#charsets): a workbook cell shows U+FFFD instead.
"""

from __future__ import annotations

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ILLEGAL_RANGES = ((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0xFFFE, 0xFFFF))
ILLEGAL_XML = re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ILLEGAL_RANGES) + "]")
