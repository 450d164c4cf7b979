"""A conversation's state in Redis: small JSON under one key per user, expiring after silence.

Redis may be lost at any moment: then a conversation starts over, which costs the citizen a step
but never a letter (letters are committed in the database before their code is shown).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Conversation:
    step: str = "idle"
    question: str = ""
    ask_ref: str | None = None  # the logged question that feedback refers to
    entry: str | None = None
    suggestions: list[str] = field(default_factory=list)
    unsolved: int = 0
    draft: dict[str, Any] = field(default_factory=dict)
    letter_code: str = ""  # the letter just submitted (step "submitted"): a second 1 shows it
    # the question a short follow-up (要带什么材料) may ask about: the entry's answered last, or
    # the citizen's own that found something (Engine._about; Matcher.follow_up)
    about: str | None = None

    def reset(self) -> None:
        keep = self.unsolved, self.about
        self.__init__()  # type: ignore[misc]
        self.unsolved, self.about = keep


def state_key(channel: str, account: str, user: str) -> str:
    return f"bot:conv:{channel}:{account}:{user}"


def last_seen_key(channel: str, account: str, user: str) -> str:
    """Set on each message for 48 hours: whether WeChat still allows customer-service messages."""
    return f"bot:last:{channel}:{account}:{user}"


def parse_conversation(raw: bytes | str | None) -> Conversation:
    """The stored state, or a fresh conversation when there is none or it cannot be read."""
    if not raw:
        return Conversation()
    try:
        data = json.loads(raw)
        return Conversation(**{k: v for k, v in data.items() if k in Conversation.__annotations__})
    except (ValueError, TypeError):
        return Conversation()


# json.dumps(..., ensure_ascii=False) makes a new encoder on every call: once per message here.
to_json = json.JSONEncoder(ensure_ascii=False).encode


def dump_conversation(conv: Conversation) -> str:
    return to_json(vars(conv))
