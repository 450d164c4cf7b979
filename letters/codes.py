"""Tracking codes (查询码): short, unguessable, easy to read aloud and to type.

Ten characters from an alphabet of 30 that leaves out the look-alikes 0/O, 1/I/L and U (read as
V): log2(30) * 10 ≈ 49 bits from ``secrets``, shown as two groups of five ("7KQ4M-X9TZC").
Citizens may type it in lower case, full width, with spaces or a dash.
"""

from __future__ import annotations

import secrets
import unicodedata

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}" if len(code) == LENGTH else code


def normalize_code(raw: object) -> str:
    """The stored form of what a citizen typed, or "" when it cannot be a tracking code."""
    if not isinstance(raw, str) or len(raw) > 40:
        return ""
    text = unicodedata.normalize("NFKC", raw).upper()
    text = "".join(ch for ch in text if ch.isalnum())
    if len(text) != LENGTH or any(ch not in ALPHABET for ch in text):
        return ""
    return text
