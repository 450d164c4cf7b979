"""Reading the whitelisted sources' RSS and Atom feeds (issue 14, source watching).

Plain HTTP and parsing, no database: the source whitelist and the repost tasks are stored
elsewhere and hand their rows in as ``FeedSource`` values, storing back what a ``FeedResult``
says (the new validators; the items that ``new_items`` finds unseen become repost tasks).

Nothing here raises for a bad feed: a timeout, an HTTP error, an HTML page or garbage each give a
``failed`` result with a reason in Chinese for the source list, so one bad source never stops the
others.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import hashlib
import html
import io
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from email.utils import mktime_tz, parsedate_tz
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import httpx

Status = Literal["ok", "not_modified", "failed"]

MAX_BODY_BYTES = 5 * 1024 * 1024  # a large central feed is a few hundred KB
MAX_REDIRECTS = 5
USER_AGENT = "minsheng-feeds/0.1 (government new-media office; source watching)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
_REDIRECTS = {301, 302, 303, 307, 308}
_PERMANENT = {301, 308}


@dataclass(frozen=True, slots=True)
class FeedSource:
    """One whitelisted source's feed and the validators stored after the last fetch.

    ``key`` names the source in ``fetch_all``'s answer (the whitelist row's id). ``local_tz`` is
    the zone a date without an offset is read in: Chinese feeds that leave the offset out, or
    write Java's ambiguous "CST", mean Beijing time, and the 12-hour rule counts from it.
    """

    key: Hashable
    url: str
    etag: str | None = None
    last_modified: str | None = None
    local_tz: str = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class FeedItem:
    id: str
    title: str
    link: str | None
    published: dt.datetime | None  # aware, UTC; None when the feed gives no date
    summary: str


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What one fetch found.

    ``etag`` and ``last_modified`` are what to store for the next fetch; on ``not_modified`` and
    ``failed`` they are the stored ones (or a 304's fresher ones), so storing them blindly never
    loses validators. ``moved_to`` is set when the feed answered with permanent redirects only,
    for the admins to update the source. ``warning`` notes a malformed feed that still had items.
    """

    status: Status
    reason: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    items: tuple[FeedItem, ...] = ()
    http_status: int | None = None
    moved_to: str | None = None
    warning: str | None = None
    feed_title: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class _Failed(Exception):
    def __init__(self, reason: str, http_status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status


# ------------------------------------------------------------------ fetching


async def fetch_feed(
    client: httpx.AsyncClient,
    source: FeedSource,
    *,
    timeout: float = 10,
    max_bytes: int = MAX_BODY_BYTES,
) -> FeedResult:
    """Fetch and parse one feed. ``timeout`` bounds the whole exchange (redirects and a slowly
    dripped body included), not each read, so a stalling server cannot hold a worker."""
    stale = {"etag": source.etag, "last_modified": source.last_modified}
    try:
        async with asyncio.timeout(timeout):
            response, body, final_url, permanent = await _get(client, source, timeout, max_bytes)
    except TimeoutError:
        return FeedResult("failed", f"请求超时（超过 {timeout:g} 秒）", **stale)
    except _Failed as e:
        return FeedResult("failed", e.reason, http_status=e.http_status, **stale)
    except httpx.TimeoutException:
        return FeedResult("failed", f"请求超时（超过 {timeout:g} 秒）", **stale)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        return FeedResult("failed", "订阅地址无效", **stale)
    except httpx.ConnectError:
        return FeedResult("failed", "无法连接订阅服务器", **stale)
    except httpx.HTTPError as e:
        return FeedResult("failed", f"网络错误：{type(e).__name__}", **stale)
    except Exception as e:  # noqa: BLE001 - a hostile server must not stop the job
        return FeedResult("failed", f"读取订阅时出错（{type(e).__name__}）", **stale)

    moved_to = final_url if permanent and final_url != source.url else None
    etag = response.headers.get("etag") or None
    last_modified = response.headers.get("last-modified") or None
    if response.status_code == 304:
        return FeedResult(
            "not_modified",
            etag=etag or source.etag,
            last_modified=last_modified or source.last_modified,
            http_status=304,
            moved_to=moved_to,
        )
    try:
        parsed = await asyncio.to_thread(
            _parse, body, response.headers.get("content-type", ""), final_url, source.local_tz
        )
    except _Failed as e:
        return FeedResult("failed", e.reason, http_status=response.status_code, **stale)
    except Exception as e:  # noqa: BLE001 - feedparser on hostile input must not stop the job
        return FeedResult(
            "failed",
            f"无法解析订阅内容（{type(e).__name__}）",
            http_status=response.status_code,
            **stale,
        )
    title, items, warning = parsed
    return FeedResult(
        "ok",
        etag=etag,
        last_modified=last_modified,
        items=items,
        http_status=response.status_code,
        moved_to=moved_to,
        warning=warning,
        feed_title=title,
    )


async def _get(
    client: httpx.AsyncClient, source: FeedSource, timeout: float, max_bytes: int
) -> tuple[httpx.Response, bytes, str, bool]:
    """GET with the stored validators, following at most MAX_REDIRECTS redirects by hand (the
    client is shared, so its own redirect setting is not ours to rely on)."""
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    url = source.url
    permanent = True
    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(url).scheme not in ("http", "https"):
            raise _Failed("订阅地址无效（只支持 http 和 https）")
        request = client.build_request("GET", url, headers=headers, timeout=timeout)
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                permanent = permanent and response.status_code in _PERMANENT
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code == 304:
                return response, b"", url, permanent
            if response.status_code != 200:
                raise _Failed(_http_reason(response.status_code), response.status_code)
            return response, await _read_capped(response, max_bytes), url, permanent
        finally:
            await response.aclose()
    raise _Failed(f"重定向次数过多（超过 {MAX_REDIRECTS} 次）")


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    too_big = _Failed(f"订阅内容过大（超过 {max_bytes // 1024} KB）", response.status_code)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    # Counted after decompression: a small gzip body must not unpack into gigabytes.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _http_reason(status: int) -> str:
    if status in (404, 410):
        return f"订阅地址已失效（HTTP {status}）"
    if status in (401, 403):
        return f"订阅服务器拒绝访问（HTTP {status}）"
    if status == 429:
        return "请求过于频繁，订阅服务器暂时拒绝（HTTP 429）"
    if status >= 500:
        return f"订阅服务器出错（HTTP {status}）"
    return f"订阅服务器返回异常状态（HTTP {status}）"


async def fetch_all(
    sources: Iterable[FeedSource],
    *,
    concurrency: int = 20,
    timeout: float = 10,
    client: httpx.AsyncClient | None = None,
) -> dict[Hashable, FeedResult]:
    """Fetch every source, at most ``concurrency`` at a time; each gets its own result."""
    sources = list(sources)
    keys = [s.key for s in sources]
    if len(set(keys)) != len(keys):
        raise ValueError("feed sources must have distinct keys")
    limit = asyncio.Semaphore(concurrency)

    async def one(c: httpx.AsyncClient, source: FeedSource) -> FeedResult:
        async with limit:
            try:
                return await fetch_feed(c, source, timeout=timeout)
            except Exception as e:  # noqa: BLE001 - a bug on one feed must not lose the others
                return FeedResult(
                    "failed",
                    f"读取订阅时出错（{type(e).__name__}）",
                    etag=source.etag,
                    last_modified=source.last_modified,
                )

    async def run(c: httpx.AsyncClient) -> dict[Hashable, FeedResult]:
        results = await asyncio.gather(*(one(c, s) for s in sources))
        return dict(zip(keys, results, strict=True))

    if client is not None:
        return await run(client)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as own:
        return await run(own)


def new_items(result: FeedResult, seen_ids: Iterable[str]) -> list[FeedItem]:
    """The result's items whose ids are not in ``seen_ids``, in feed order, each id once."""
    seen = set(seen_ids)
    fresh: list[FeedItem] = []
    for item in result.items if result.status == "ok" else ():
        if item.id not in seen:
            seen.add(item.id)
            fresh.append(item)
    return fresh


# ------------------------------------------------------------------ parsing

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_CST = re.compile(r"\bCST\b", re.I)
_ENDS_AT_TIME = re.compile(r"\d:\d\d(:\d\d(\.\d+)?)?\s*$")
_CHINA = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi", "PRC"}
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)[\s>]", re.I | re.S)


def _parse(
    body: bytes, content_type: str, url: str, local_tz: str
) -> tuple[str | None, tuple[FeedItem, ...], str | None]:
    # No Content-Location: feedparser would resolve a guid against it as if it were a link, and
    # an id that changes with the feed's address would turn old items into new tasks.
    parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-type": content_type})
    entries = parsed.get("entries") or []
    if not entries and (not parsed.get("version") or parsed.get("bozo")):
        if "html" in content_type.lower() or _HTML_START.match(body[:2048]):
            raise _Failed("不是 RSS 或 Atom 订阅（收到的是网页）")
        raise _Failed("无法解析订阅内容（不是有效的 RSS 或 Atom）")
    warning = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        warning = f"订阅格式不规范，已尽量读取（{type(exc).__name__ if exc else '未知问题'}）"
    zone = ZoneInfo(local_tz)
    items = tuple(_item(e, url, zone) for e in entries)
    feed_title = _text(parsed.get("feed", {}).get("title")) or None
    return feed_title, items, warning


def _item(entry: Any, base: str, zone: ZoneInfo) -> FeedItem:
    link = _safe_link(entry.get("link"), base)
    title = _text(entry.get("title"))
    raw_date, parsed_date = _date_fields(entry)
    try:
        published = _to_utc(raw_date, parsed_date, zone)
    except (ValueError, OverflowError):  # a date feedparser accepted but no datetime can hold
        published = None
    item_id = (entry.get("id") or "").strip() or link
    if not item_id:
        # Neither guid nor link: the title and date are all that stay the same between fetches.
        digest = hashlib.sha1(f"{title}\n{raw_date}".encode()).hexdigest()
        item_id = f"sha1:{digest}"
    return FeedItem(
        id=item_id,
        title=title,
        link=link,
        published=published,
        summary=_text(entry.get("summary")),
    )


def _safe_link(link: str | None, base: str) -> str | None:
    if not link:
        return None
    absolute = urljoin(base, link.strip())
    # The link is shown to staff as a clickable source: javascript: and the like never are.
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _text(value: str | None) -> str:
    """Plain text from a feed field that may carry HTML (feedparser has sanitized it already)."""
    if not value:
        return ""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", value))).strip()


def _date_fields(entry: Any) -> tuple[str, Any]:
    # Publication first: the 12-hour rule counts from it. Atom may give only <updated>.
    for name in ("published", "updated", "created"):
        if entry.get(name) or entry.get(f"{name}_parsed"):
            return (entry.get(name) or "").strip(), entry.get(f"{name}_parsed")
    return "", None


def _to_utc(raw: str, parsed: Any, zone: ZoneInfo) -> dt.datetime | None:
    """The date as aware UTC. feedparser reads a date without an offset as UTC (or not at all,
    in RFC 822), and "CST" as US Central; Chinese feeds mean Beijing wall-clock time by both."""
    wall = _wall_clock(raw, parsed, zone)
    if wall is not None:
        return wall.replace(tzinfo=zone).astimezone(dt.UTC)
    if parsed is not None:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.UTC)
    fields = parsedate_tz(raw) if raw else None
    if fields is not None and fields[9] is not None:
        return dt.datetime.fromtimestamp(mktime_tz(fields), dt.UTC)
    return None


def _wall_clock(raw: str, parsed: Any, zone: ZoneInfo) -> dt.datetime | None:
    """The naive wall-clock time when ``raw`` is in the source's own zone, else None."""
    if not raw:
        return None
    if _CST.search(raw) and zone.key in _CHINA:
        fields = parsedate_tz(raw)
        if fields is not None:
            return dt.datetime(*fields[:6])
        if parsed is not None:  # feedparser's UTC reading of UTC-6, back to the wall clock
            return dt.datetime(*parsed[:6]) - dt.timedelta(hours=6)
        return None
    fields = parsedate_tz(raw)
    if fields is not None:
        # parsedate_tz reads a missing zone as +0000: only the text tells them apart.
        return dt.datetime(*fields[:6]) if _ENDS_AT_TIME.search(raw) else None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is None else None
