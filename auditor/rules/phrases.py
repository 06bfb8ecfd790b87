"""Reader-facing phrases more than one rule family writes into its details."""

from __future__ import annotations

METHOD_WORDS = {
    "ade": "Automated Device Enrollment",
    "direct": "direct enrollment (Apple Configurator)",
    "dem": "a device enrollment manager account",
    "byod": "Company Portal (BYOD)",
    "user_enrollment": "Apple User Enrollment",
}


def method_words(method: str | None) -> str:
    """`ade` → 'Automated Device Enrollment'; missing or odd values are named as such."""
    if method is None or method == "unknown":
        return "an unknown method"
    return METHOD_WORDS.get(method, method)
