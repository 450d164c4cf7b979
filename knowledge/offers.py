"""Which entries a matcher decision lets the bot put in front of a citizen (or staff pre-fill).

A candidate the matcher scored zero -- shown to staff as "0.00" -- shares nothing that matters
with the question: offering it as "您是不是想问" or as a 相关问题 only sends the citizen to a wrong
page. So it is never offered, whichever list of the decision it came in. Duck-typed over the
decision (``candidates`` with ``entry`` and ``score``) so that stand-in matchers work too.
"""

from __future__ import annotations

from typing import Any

# Anything below rounds to 0.00 where staff see a score.
NOTHING_IN_COMMON = 0.005
MAX_OFFERED = 3


def scores(decision: Any) -> dict[str, float]:
    """Each candidate entry's best score."""
    best: dict[str, float] = {}
    for c in getattr(decision, "candidates", None) or []:
        entry = str(c.entry)
        best[entry] = max(best.get(entry, 0.0), float(c.score or 0.0))
    return best


def worth_offering(score: float | None) -> bool:
    return score is not None and score >= NOTHING_IN_COMMON


def _scored(decision: Any, entry_ids: Any) -> list[str]:
    known = scores(decision)
    # An entry the decision names without scoring it (a stand-in matcher) is as good as the
    # decision itself.
    fallback = float(getattr(decision, "score", 0.0) or 0.0)
    kept = []
    for entry_id in entry_ids or []:
        entry = str(entry_id)
        if entry not in kept and worth_offering(known.get(entry, fallback)):
            kept.append(entry)
    return kept[:MAX_OFFERED]


def suggestions(decision: Any) -> list[str]:
    """The decision's suggestions that may be offered, best first."""
    return _scored(decision, getattr(decision, "suggestions", None))


def related(decision: Any) -> list[str]:
    """With "none": the 相关问题 retrieval still found plausible, best first."""
    if getattr(decision, "decision", None) != "none":
        return []
    return _scored(decision, getattr(decision, "related", None))


def offered(decision: Any) -> list[str]:
    """Every entry the bot puts before the citizen for ``decision``: its answer, or the
    suggestions, or the 相关问题 under a "none"."""
    answered = getattr(decision, "decision", None) == "answer" and getattr(decision, "entry", None)
    return ([str(answered)] if answered else []) + suggestions(decision) + related(decision)
