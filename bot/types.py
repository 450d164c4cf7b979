"""What a platform adapter hands the engine, and what the engine hands back.

The engine returns replies and never sends them: each adapter renders them in its platform's way
(a passive XML reply, an inline keyboard, JSON for the web page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

CHANNELS = ("wechat", "telegram", "web")
# Menu actions a platform button can trigger (WeChat CLICK keys, Telegram commands).
ACTIONS = ("welcome", "help", "status", "letter", "human")


@dataclass(frozen=True)
class IncomingMessage:
    channel: str  # wechat | telegram | web
    account: str  # the register's account code ("" for the web chat page)
    user: str  # the platform's user id: openid, Telegram user id, web session id
    text: str = ""
    action: str = ""  # one of ACTIONS when a menu button or command was used
    message_id: str = ""  # the platform's id, so that a retried delivery is recognised
    unsupported: str = ""  # the platform type we can't read (image, location, ...)
    at: datetime | None = None
    client: str = ""  # the client's address where the platform gives it (the web chat)


@dataclass(frozen=True)
class Choice:
    """A numbered choice; platforms with buttons show `label` and send back `value`."""

    value: str
    label: str


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    links: tuple[Link, ...] = ()
    meta: dict = field(default_factory=dict, compare=False)

    def as_text(self) -> str:
        """The reply for platforms that only show text: choices become numbered lines."""
        lines = [self.text]
        lines += [f"{c.value}. {c.label}" for c in self.choices]
        lines += [f"{link.title}：{link.url}" for link in self.links]
        return "\n".join(line for line in lines if line)

    @classmethod
    def from_dict(cls, data: dict) -> Reply:
        return cls(
            text=data.get("text", ""),
            choices=tuple(Choice(c["value"], c["label"]) for c in data.get("choices", [])),
            links=tuple(Link(x["title"], x["url"]) for x in data.get("links", [])),
        )

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "choices": [{"value": c.value, "label": c.label} for c in self.choices],
            "links": [{"title": link.title, "url": link.url} for link in self.links],
        }


@dataclass(frozen=True)
class Claim:
    """A platform's replay protection, taken in the Redis round trip that opens the turn: ``key``
    is set to ``token`` for ``ttl`` seconds; a delivery finding it set is refused unless it
    carries the same token within ``retry_seconds`` of the first (the platform's own retry of
    that delivery). ``now`` is when this delivery came, in epoch seconds."""

    key: str
    token: str
    now: float
    ttl: int
    retry_seconds: float


class ClaimRefused(Exception):
    """The claim's key was taken by another delivery, or too long ago: a replay."""
