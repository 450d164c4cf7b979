"""Publishing to a Telegram channel through aiogram's Bot: the cover as a photo with the text as
its caption (or followed by the text when it is longer than a caption may be), else a message
with the link previewed. Long text is split between paragraphs into messages Telegram accepts.

The bot must be an administrator of the channel allowed to post. The channel is the account's
credential "channel" or its handle: "@username" or a numeric id (-100…).
"""

from __future__ import annotations

import html
import logging
from html.parser import HTMLParser

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, LinkPreviewOptions, Message

from adapters.publishing import (
    Image,
    PublishEnv,
    PublishItem,
    PublishResult,
    PublishTarget,
    fetch_image,
    image_sources,
)

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096  # characters of a message after its entities are parsed (UTF-16 units)
CAPTION_LIMIT = 1024
# Telegram's HTML knows these tags only; the others are dropped and their text kept.
INLINE = {
    "b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u",
    "s": "s", "strike": "s", "del": "s", "code": "code", "a": "a",
}  # fmt: skip
HIDDEN = {"script", "style"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCKS = {"p", "div", "section", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre"}


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Blocks(HTMLParser):
    """Article HTML as Telegram-HTML paragraphs, each complete in itself (tags closed), with
    the length Telegram counts (the visible text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []  # (telegram html, plain text)
        self.parts: list[str] = []
        self.plain: list[str] = []
        self.open: list[tuple[str, str]] = []  # (tag, its opening markup)
        self.hidden = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self.hidden += 1
        elif tag in BLOCKS:
            self.flush()
            if tag in HEADINGS:
                self._open("b", "<b>")
            elif tag == "li":
                self.handle_data("• ")
        elif tag == "br":
            self.parts.append("\n")
            self.plain.append("\n")
        elif tag in INLINE:
            name = INLINE[tag]
            if name == "a":
                href = dict(attrs).get("href") or ""
                if not href.startswith(("http://", "https://", "tg://")):
                    return
                self._open("a", f'<a href="{html.escape(href, quote=True)}">')
            else:
                self._open(name, f"<{name}>")

    def _open(self, name: str, markup: str) -> None:
        self.open.append((name, markup))
        self.parts.append(markup)

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCKS:
            if tag in HEADINGS:
                self._close("b")
            self.flush()
        elif tag in INLINE:
            self._close(INLINE[tag])

    def _close(self, name: str) -> None:
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == name:
                self.parts.append(f"</{name}>")
                del self.open[i]
                return

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.parts.append(html.escape(data, quote=False))
        self.plain.append(data)

    def flush(self) -> None:
        plain = "".join(self.plain).strip()
        if plain:
            closing = "".join(f"</{name}>" for name, _ in reversed(self.open))
            self.blocks.append(("".join(self.parts).strip() + closing, plain))
        # An inline tag left open goes on in the next paragraph.
        self.parts = [markup for _, markup in self.open]
        self.plain = []


def telegram_blocks(body_html: str) -> list[tuple[str, str]]:
    parser = _Blocks()
    parser.feed(body_html)
    parser.close()
    parser.flush()
    return parser.blocks


def pack(blocks: list[tuple[str, str]], limit: int) -> list[str]:
    """Paragraphs joined into messages of at most `limit` visible characters; a paragraph
    longer than that is cut into plain pieces (its formatting lost, its text kept)."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for markup, plain in blocks:
        n = units(plain)
        if n > limit:
            if current:
                messages.append("\n\n".join(current))
                current, size = [], 0
            piece = ""
            for ch in plain:
                if units(piece + ch) > limit:
                    messages.append(html.escape(piece, quote=False))
                    piece = ""
                piece += ch
            if piece:
                current, size = [html.escape(piece, quote=False)], units(piece)
            continue
        extra = n + (2 if current else 0)
        if current and size + extra > limit:
            messages.append("\n\n".join(current))
            current, size = [], 0
            extra = n
        current.append(markup)
        size += extra
    if current:
        messages.append("\n\n".join(current))
    return messages


class TelegramPublisher:
    platform = "telegram"

    def __init__(self, bot: Bot, channel: str | int, env: PublishEnv, code: str = ""):
        self.bot = bot
        self.channel = channel
        self.env = env
        self.code = code

    @classmethod
    def for_target(cls, target: PublishTarget, env: PublishEnv) -> TelegramPublisher:
        token = str(target.credentials.get("bot_token", ""))
        if token not in env.bots:
            if env.telegram_session is None:  # the session is token-agnostic: one serves all
                server = TelegramAPIServer.from_base(env.telegram_api_base)
                env.telegram_session = AiohttpSession(api=server)
            env.bots[token] = Bot(token, session=env.telegram_session)
        channel: str | int = str(target.credentials.get("channel") or target.handle or "")
        if isinstance(channel, str) and channel.lstrip("-").isdigit():
            channel = int(channel)
        elif channel and not channel.startswith("@"):
            channel = "@" + channel
        return cls(env.bots[token], channel, env, target.code)

    async def publish(self, item: PublishItem) -> PublishResult:
        if not self.channel:
            return PublishResult("failed", reason="未设置 Telegram 频道（@用户名或 -100… 的 ID）")
        blocks = [(f"<b>{html.escape(item.title, quote=False)}</b>", item.title)]
        blocks += telegram_blocks(item.body_html)
        if item.source_name:
            name = html.escape(item.source_name, quote=False)
            if item.source_url:
                name = f'<a href="{html.escape(item.source_url, quote=True)}">{name}</a>'
            blocks.append((f"来源：{name}", item.source_line))
        if item.link:
            blocks.append((html.escape(item.link, quote=False), item.link))
        try:
            photo = await self._photo(item)
        except Exception as err:  # noqa: BLE001 - an unreadable cover fails this item only
            return PublishResult("failed", reason=f"封面图片无法读取：{err}")
        sent: list[Message] = []
        try:
            if photo is not None:
                captions = pack(blocks, CAPTION_LIMIT)
                if len(captions) == 1:
                    sent.append(await self._send_photo(photo, captions[0]))
                else:
                    sent.append(await self._send_photo(photo, pack(blocks[:1], CAPTION_LIMIT)[0]))
                    for text in pack(blocks[1:], TEXT_LIMIT):
                        sent.append(await self._send_text(text, item.link))
            else:
                for text in pack(blocks, TEXT_LIMIT):
                    sent.append(await self._send_text(text, item.link))
        except TelegramAPIError as err:
            result = self._error(err)
            if not sent:
                return result
            reason = f"频道已发出前 {len(sent)} 条，其余发送失败（{result.reason}），请核实并补发"
            return PublishResult(
                "check", url=self._url(sent[0]), platform_id=self._id(sent[0]), reason=reason
            )
        return PublishResult(
            "published", url=self._url(sent[0]), platform_id=self._id(sent[0]),
            detail={"message_ids": [m.message_id for m in sent]},
        )  # fmt: skip

    async def _photo(self, item: PublishItem) -> Image | None:
        if item.cover is not None:
            return item.cover
        if item.cover_url:
            return await fetch_image(self.env.http(), item.cover_url)
        for src in image_sources(item.body_html):  # no cover: the first body image serves
            if src in item.images:
                return item.images[src]
        return None

    async def _send_photo(self, photo: Image, caption: str) -> Message:
        return await self.bot.send_photo(
            self.channel,
            BufferedInputFile(photo.data, filename=photo.name),
            caption=caption,
            parse_mode="HTML",
        )

    async def _send_text(self, text: str, link: str) -> Message:
        # Only the item's own link is previewed, not whichever link the body names first.
        preview = (
            LinkPreviewOptions(url=link, prefer_large_media=True)
            if link and html.escape(link, quote=False) in text
            else LinkPreviewOptions(is_disabled=True)
        )
        return await self.bot.send_message(
            self.channel, text, parse_mode="HTML", link_preview_options=preview
        )

    def _url(self, message: Message) -> str:
        username = message.chat.username
        if not username and isinstance(self.channel, str):
            username = self.channel.lstrip("@")
        return f"https://t.me/{username}/{message.message_id}" if username else ""

    @staticmethod
    def _id(message: Message) -> str:
        return f"{message.chat.id}:{message.message_id}"

    def _error(self, err: TelegramAPIError) -> PublishResult:
        if isinstance(err, TelegramRetryAfter):
            return PublishResult(
                "retry", reason="Telegram 限制发送频率，稍后自动重试",
                retry_after=float(err.retry_after),
            )  # fmt: skip
        if isinstance(err, TelegramNetworkError | TelegramServerError):
            return PublishResult(
                "retry", reason="暂时无法连接 Telegram，稍后自动重试",
                retry_after=self.env.retry_after,
            )  # fmt: skip
        if isinstance(err, TelegramUnauthorizedError):
            reason = "Bot Token 无效或已被撤销，请更新账号凭据"
        elif isinstance(err, TelegramForbiddenError):
            reason = "机器人无权在该频道发布：请把机器人设为频道管理员并允许发布消息"
        elif isinstance(err, TelegramEntityTooLarge):
            reason = "封面图片过大，Telegram 不接受"
        elif isinstance(err, TelegramBadRequest) and "chat not found" in err.message.lower():
            reason = f"找不到频道 {self.channel}：请检查频道用户名，并把机器人加入频道"
        else:
            reason = f"Telegram 拒绝了这条消息：{err.message}"
        log.warning("telegram %s: publishing failed: %s", self.code, err)
        return PublishResult("failed", reason=reason)
