"""Normalising and splitting citizens' text outside the matcher (grouping questions, synonyms).

The matcher's own ``knowledge.normalize`` is preferred so that both sides agree on what two
questions "look the same" means; a plain fallback keeps this package working without it.
"""

from __future__ import annotations

import importlib
import unicodedata
from collections.abc import Callable
from functools import cache


def _fallback_normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def _fallback_words(text: str) -> list[str]:
    import jieba

    return jieba.lcut(text, HMM=False)


@cache
def _module_function(name: str, fallback: Callable) -> Callable:
    try:
        module = importlib.import_module("knowledge.normalize")
    except ImportError:
        return fallback
    return getattr(module, name, fallback)


def normalize(text: str) -> str:
    """Simplified, half-width, lowercase, without punctuation (and, with the matcher's
    normaliser, without greetings and particles), in the words the writer chose: staff's
    synonyms and similar questions are kept as typed, not rewritten by the matcher's lexicon."""
    return _module_function("normalize_plain", _fallback_normalize)(text or "")


def words(normalized: str) -> list[str]:
    """The words of an already normalised text."""
    return _module_function("words", _fallback_words)(normalized)
