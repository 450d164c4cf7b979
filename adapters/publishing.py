"""What the publishers share: the port's types (from publishing.port, re-exported here), the
process-wide `PublishEnv`, the registry by platform, and HTML and image helpers."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from publishing.port import (  # noqa: F401 - the port's types, re-exported for the adapters
    MAX_IMAGE_BYTES,
    Image,
    Publisher,
    PublisherFactory,
    PublishItem,
    PublishResult,
    PublishTarget,
    Status,
    markdown_to_html,
)


@dataclass
class PublishEnv:
    """What publishers share within a process: Redis, the platforms' base URLs (local fakes in
    tests), an HTTP client for images, and the pacing of retries and polls."""

    redis: Any
    wechat_api_base: str = "https://api.weixin.qq.com"
    telegram_api_base: str = "https://api.telegram.org"
    client: httpx.AsyncClient | None = None
    poll_interval: float = 3.0  # between freepublish/get calls
    poll_attempts: int = 20  # then the item stays "submitted" and is checked later
    call_attempts: int = 3  # tries of one call on "system busy" or a network error
    backoff: float = 1.0  # first pause between those tries, doubled each time
    retry_after: float = 300.0  # what a "retry" result suggests to the scheduler
    bots: dict[str, Any] = field(default_factory=dict)  # Telegram Bot per token
    # The bots' one HTTP session: per token, its SSL context alone cost ~25 ms of CPU and its
    # connections were not shared (2,000 channels: a minute of CPU per worker; bench/publish_bench).
    telegram_session: Any = None

    def http(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=15.0, follow_redirects=True)
        return self.client

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        if self.telegram_session is not None:
            await self.telegram_session.close()
            self.telegram_session = None
        self.bots.clear()


Factory = Callable[[PublishTarget, PublishEnv], Publisher]
_registry: dict[str, Factory] = {}


def register(platform: str, factory: Factory) -> None:
    _registry[platform] = factory


def publisher_for(target: PublishTarget, env: PublishEnv) -> Publisher:
    """The platform's publisher; platforms without a publishing API get the manual one."""
    if not _registry:
        from adapters import manual_publish, telegram_publish, wechat_publish

        register("wechat", wechat_publish.WechatPublisher.for_target)
        register("telegram", telegram_publish.TelegramPublisher.for_target)
        register("*", manual_publish.ManualPublisher.for_target)
    factory = _registry.get(target.platform) or _registry["*"]
    return factory(target, env)


def make_publishers(env: PublishEnv) -> PublisherFactory:
    """The factory the publishing domain asks for a target's publisher (quart_app.compose)."""
    return lambda target: publisher_for(target, env)


async def fetch_image(client: httpx.AsyncClient, url: str) -> Image:
    """An image named by URL (a draft's cover or an <img> of its body), size-limited."""
    async with client.stream("GET", url) as resp:
        resp.raise_for_status()
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > MAX_IMAGE_BYTES:
                raise ValueError(f"图片超过 {MAX_IMAGE_BYTES // 1024 // 1024} MB：{url}")
            chunks.append(chunk)
        content_type = resp.headers.get("content-type", "image/jpeg").split(";")[0].strip()
    ext = {"image/png": "png", "image/gif": "gif", "image/webp": "webp"}.get(content_type, "jpg")
    stem = re.sub(r"[^A-Za-z0-9_-]", "", url.rsplit("/", 1)[-1].split("?")[0].rsplit(".", 1)[0])
    return Image(f"{stem or 'image'}.{ext}", b"".join(chunks), content_type)


IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def image_sources(body_html: str) -> list[str]:
    seen: dict[str, None] = {}
    for m in IMG_SRC.finditer(body_html):
        seen.setdefault(html.unescape(m.group(3)), None)
    return list(seen)


def replace_image_sources(body_html: str, new: dict[str, str]) -> str:
    def swap(m: re.Match[str]) -> str:
        src = html.unescape(m.group(3))
        if src not in new:
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{html.escape(new[src], quote=True)}{m.group(2)}"

    return IMG_SRC.sub(swap, body_html)


def plain_text(body_html: str) -> str:
    """The body as text to read or copy: paragraphs and line breaks kept, tags dropped."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", body_html)
    text = re.sub(r"(?i)<br\s*/?>", "\n", text)
    text = re.sub(r"(?i)<li\b[^>]*>", "• ", text)
    text = re.sub(r"(?i)</(p|div|h[1-6]|blockquote|pre|section)>", "\n\n", text)
    text = re.sub(r"(?i)</(li|tr)>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
