"""The publishing port: what goes out to a platform (`PublishItem`), what came of it
(`PublishResult`), the account it goes to (`PublishTarget`) and the `Publisher` protocol that
adapters/ implements. The domain asks for a publisher through ``publisher_of(deps, target)``;
the top of the application (quart_app.compose) registers the adapters' factory with
``set_publishers``. Nothing here speaks a platform's protocol.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from infra.deps import Deps

# published: public, with its URL where the platform gives one.
# submitted: handed to the platform, outcome not known yet (WeChat still reviewing): never
#   publish it again; ask the publisher's `check(platform_id)` later.
# check: it may or may not be public (the connection broke mid-submit): people must look.
# retry: nothing public happened; try again after `retry_after` seconds.
# failed: retrying cannot help (quota, permissions, bad content); `reason` says why in Chinese.
# manual: the platform has no API for us: staff copy `copy_text` and record the URL themselves.
Status = Literal["published", "submitted", "check", "retry", "failed", "manual"]

MAX_IMAGE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Image:
    name: str  # a file name with its extension: the platforms judge the type by it
    data: bytes
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class PublishItem:
    title: str
    body_html: str  # see `markdown_to_html` for a Markdown body
    digest: str = ""
    author: str = ""
    cover: Image | None = None
    cover_url: str = ""  # fetched by the publisher when `cover` is not given
    # Body images by the src they have in body_html; an <img> not listed here is fetched.
    images: dict[str, Image] = field(default_factory=dict)
    source_name: str = ""  # a repost's source: "来源：…" is appended
    source_url: str = ""
    link: str = ""  # 阅读原文 / the link previewed under the text
    key: str = ""  # the caller's id for this item, for logs

    @property
    def source_line(self) -> str:
        if not self.source_name:
            return ""
        return f"来源：{self.source_name}"

    def html_with_source(self) -> str:
        if not self.source_name:
            return self.body_html
        name = html.escape(self.source_name)
        if self.source_url:
            url = html.escape(self.source_url, quote=True)
            line = f'<p>来源：<a href="{url}">{name}</a></p>'
        else:
            line = f"<p>来源：{name}</p>"
        return f"{self.body_html}\n{line}"


@dataclass(frozen=True)
class PublishResult:
    status: Status
    url: str = ""
    platform_id: str = ""  # the platform's id of what was published or submitted
    reason: str = ""  # for people, in Chinese
    retry_after: float | None = None
    copy_text: str = ""  # status manual: the text to paste into the platform
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def is_public(self) -> bool:
        return self.status == "published"


class Publisher(Protocol):
    platform: str

    async def publish(self, item: PublishItem) -> PublishResult: ...


class CheckingPublisher(Publisher, Protocol):
    """A publisher whose platform publishes later (WeChat reviews first): ``check`` asks what
    became of a submitted item."""

    async def check(self, platform_id: str) -> PublishResult: ...


@dataclass
class PublishTarget:
    """One account to publish to, with its decrypted credentials (for the publisher only: never
    logged, shown or stored elsewhere)."""

    platform: str
    code: str
    name: str = ""
    handle: str = ""  # e.g. a Telegram channel's @username
    credentials: dict[str, Any] = field(default_factory=dict)


PublisherFactory = Callable[[PublishTarget], Publisher]


def set_publishers(deps: Deps, factory: PublisherFactory) -> None:
    deps.extensions["publishers"] = factory


def publisher_of(deps: Deps, target: PublishTarget) -> Publisher:
    factory = deps.extensions.get("publishers")
    if factory is None:
        raise RuntimeError("no publishers registered (quart_app.compose does it)")
    return factory(target)


def markdown_to_html(text: str) -> str:
    """A draft's Markdown body as HTML. Raw HTML in the Markdown is shown as text, not run."""
    return _markdown().render(text)


@functools.cache
def _markdown() -> Any:
    # Building the parser (its rule chains) cost more than rendering a draft; render keeps no
    # state between calls.
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False})
