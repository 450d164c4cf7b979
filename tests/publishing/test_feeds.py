"""Reading the whitelisted sources' feeds (issue 14) against a real local HTTP server.

The server is a small asyncio HTTP/1.1 server in the test's own loop, serving feeds shaped like
www.gov.cn's RSS 2.0 and an Atom feed, plus the ways feeds go wrong.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from publishing.feeds import FeedResult, FeedSource, fetch_all, fetch_feed, new_items

UTC = dt.UTC

GOV_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>中国政府网_最新政策</title>
<link>https://www.gov.cn/zhengce/</link>
<description>中国政府网最新政策</description>
<language>zh-cn</language>
<lastBuildDate>Mon, 23 Nov 2026 18:30:00 +0800</lastBuildDate>
<item>
<title>国务院办公厅关于进一步优化政务服务提升行政效能的意见</title>
<link>https://www.gov.cn/zhengce/content/202611/content_7000001.htm</link>
<guid isPermaLink="false">content_7000001</guid>
<pubDate>Mon, 23 Nov 2026 18:30:00 +0800</pubDate>
<description><![CDATA[<p>为深入贯彻落实党中央、国务院决策部署，<b>进一步优化</b>政务服务&hellip;</p>]]></description>
</item>
<item>
<title>国务院关于修改和废止部分行政法规的决定</title>
<link>https://www.gov.cn/zhengce/content/202611/content_7000002.htm</link>
<pubDate>Sun, 22 Nov 2026 09:05:00 +0800</pubDate>
<description>现予公布，自公布之日起施行。</description>
</item>
<item>
<title>国务院常务会议：部署冬春农田水利建设</title>
<link>/zhengce/content/202611/content_7000003.htm</link>
<guid>content_7000003</guid>
<description>无日期的条目</description>
</item>
</channel>
</rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>广东省人民政府 - 要闻</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6</id>
  <updated>2026-11-23T10:00:00+08:00</updated>
  <link href="https://www.gd.gov.cn/"/>
  <entry>
    <title type="html">省政府召开常务会议 &lt;b&gt;研究&lt;/b&gt;部署冬季安全生产</title>
    <id>tag:gd.gov.cn,2026:post-1001</id>
    <link rel="alternate" href="https://www.gd.gov.cn/gdywdt/gdyw/content/post_1001.html"/>
    <published>2026-11-23T08:15:00+08:00</published>
    <updated>2026-11-23T09:00:00+08:00</updated>
    <summary type="html">&lt;p&gt;会议强调，要&lt;em&gt;压实&lt;/em&gt;责任。&lt;/p&gt;</summary>
  </entry>
  <entry>
    <title>全省秋粮收购进度过半</title>
    <id>tag:gd.gov.cn,2026:post-1002</id>
    <link href="https://www.gd.gov.cn/gdywdt/gdyw/content/post_1002.html"/>
    <updated>2026-11-22T16:00:00Z</updated>
    <summary>收购进度快于去年同期。</summary>
  </entry>
</feed>
"""

HTML_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>中国政府网</title></head>
<body><h1>页面维护中</h1><p>请稍后访问。</p></body></html>
"""


def rss(title: str, n: int, *, dates: str | None = "Mon, 23 Nov 2026 10:00:00 +0800") -> str:
    items = "".join(
        f"<item><title>{title}第{i}条</title>"
        f"<link>https://example.gov.cn/{title}/{i}.htm</link><guid>{title}-{i}</guid>"
        + (f"<pubDate>{dates}</pubDate>" if dates else "")
        + "<description>摘要</description></item>"
        for i in range(n)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.gov.cn/</link>{items}</channel></rss>"
    )


# ------------------------------------------------------------------ the local server


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the headers
    drip: float = 0.0  # between body bytes, after the headers


Handler = Callable[[dict[str, str]], Reply | Awaitable[Reply]]


class FeedServer:
    """HTTP/1.1 on loopback: one response per connection, every request's headers recorded."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        # Connections a timed-out client left behind would keep wait_closed waiting.
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            self.requests.append((path, headers))
            handler = self.routes.get(path)
            reply = Reply(404, b"not found") if handler is None else handler(headers)
            if asyncio.iscoroutine(reply):
                reply = await reply
            await asyncio.sleep(reply.delay)
            out = {"Content-Length": str(len(reply.body)), "Connection": "close"} | reply.headers
            writer.write(
                f"HTTP/1.1 {reply.status} X\r\n".encode()
                + "".join(f"{k}: {v}\r\n" for k, v in out.items() if v).encode()
                + b"\r\n"
            )
            if reply.drip:
                for i in range(len(reply.body)):
                    writer.write(reply.body[i : i + 1])
                    await writer.drain()
                    await asyncio.sleep(reply.drip)
            else:
                writer.write(reply.body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.in_flight -= 1
            writer.close()

    def feed(self, path: str, text: str | bytes, content_type: str, **extra) -> None:
        body = text.encode() if isinstance(text, str) else text
        self.routes[path] = lambda _h: Reply(200, body, {"Content-Type": content_type}, **extra)


@pytest.fixture
async def server():
    s = FeedServer()
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c


# ------------------------------------------------------------------ parsing real-shaped feeds


async def test_gov_cn_rss_gives_items_with_utc_times(server, client):
    server.feed("/zhengce.rss", GOV_RSS, "application/rss+xml; charset=utf-8")
    result = await fetch_feed(client, FeedSource("gov", server.url("/zhengce.rss")), timeout=5)

    assert result.status == "ok", result.reason
    assert result.feed_title == "中国政府网_最新政策"
    first, second, third = result.items
    assert first.id == "content_7000001"
    assert first.title == "国务院办公厅关于进一步优化政务服务提升行政效能的意见"
    assert first.link == "https://www.gov.cn/zhengce/content/202611/content_7000001.htm"
    assert first.published == dt.datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    assert first.published.utcoffset() == dt.timedelta(0)
    assert first.summary == "为深入贯彻落实党中央、国务院决策部署， 进一步优化 政务服务…"
    # No guid: the link is the id.
    assert second.id == second.link
    assert second.published == dt.datetime(2026, 11, 22, 1, 5, tzinfo=UTC)
    # No date: None, and a relative link is made absolute against the feed's address.
    assert third.id == "content_7000003"  # a guid is an id, never resolved like a link
    assert third.published is None
    assert third.link == server.url("/zhengce/content/202611/content_7000003.htm")


async def test_atom_feed(server, client):
    server.feed("/gd.atom", ATOM, "application/atom+xml")
    result = await fetch_feed(client, FeedSource("gd", server.url("/gd.atom")), timeout=5)

    assert result.status == "ok", result.reason
    first, second = result.items
    assert first.id == "tag:gd.gov.cn,2026:post-1001"
    assert first.title == "省政府召开常务会议 研究 部署冬季安全生产"
    assert first.link == "https://www.gd.gov.cn/gdywdt/gdyw/content/post_1001.html"
    # <published> wins over <updated>: the 12-hour rule counts from publication.
    assert first.published == dt.datetime(2026, 11, 23, 0, 15, tzinfo=UTC)
    assert first.summary == "会议强调，要 压实 责任。"
    # Only <updated>: that is the date.
    assert second.published == dt.datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


async def test_gb2312_feed_is_decoded(server, client):
    text = GOV_RSS.replace('encoding="UTF-8"', 'encoding="gb2312"')
    server.feed("/gb.rss", text.replace("&hellip;", "").encode("gb18030"), "text/xml")
    result = await fetch_feed(client, FeedSource("gb", server.url("/gb.rss")), timeout=5)

    assert result.status == "ok", result.reason
    assert result.items[1].title == "国务院关于修改和废止部分行政法规的决定"


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        # Beijing wall-clock time whenever a Chinese feed does not say otherwise.
        ("Mon, 23 Nov 2026 10:00:00", dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
        ("Mon, 23 Nov 2026 10:00:00 CST", dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
        ("Mon Nov 23 10:00:00 CST 2026", dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
        ("2026-11-23 10:00:00", dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
        ("Mon, 23 Nov 2026 10:00:00 GMT", dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
        ("2026-11-23T10:00:00+08:00", dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
        ("不是日期", None),
    ],
)
async def test_dates_without_an_offset_are_beijing_time(server, client, date, expected):
    server.feed("/d.rss", rss("日期", 1, dates=date), "application/rss+xml")
    result = await fetch_feed(client, FeedSource("d", server.url("/d.rss")), timeout=5)

    assert result.status == "ok", result.reason
    assert result.items[0].published == expected


async def test_a_malformed_feed_with_items_is_read_with_a_warning(server, client):
    # A bare "&" and an unknown entity: not XML, but feedparser still finds the items.
    broken = rss("残缺", 3).replace("<description>摘要", "<description>A & B &nbsp; 摘要")
    server.feed("/bozo.rss", broken, "application/rss+xml")
    result = await fetch_feed(client, FeedSource("b", server.url("/bozo.rss")), timeout=5)

    assert result.status == "ok", result.reason
    assert [i.id for i in result.items] == ["残缺-0", "残缺-1", "残缺-2"]
    assert result.warning and "不规范" in result.warning


async def test_a_javascript_link_is_not_kept(server, client):
    server.feed(
        "/js.rss",
        rss("链接", 1).replace("https://example.gov.cn/链接/0.htm", "javascript:alert(1)"),
        "application/rss+xml",
    )
    result = await fetch_feed(client, FeedSource("js", server.url("/js.rss")), timeout=5)

    assert result.items[0].link is None
    assert result.items[0].id == "链接-0"


# ------------------------------------------------------------------ conditional GET


async def test_etag_and_last_modified_give_not_modified(server, client):
    etag, stamp = '"v1-abc"', "Mon, 23 Nov 2026 10:30:00 GMT"
    body = GOV_RSS.encode()

    def handler(headers: dict[str, str]) -> Reply:
        validators = {"ETag": etag, "Last-Modified": stamp}
        if headers.get("if-none-match") == etag or headers.get("if-modified-since") == stamp:
            return Reply(304, b"", validators)
        return Reply(200, body, {"Content-Type": "application/rss+xml"} | validators)

    server.routes["/cond.rss"] = handler
    first = await fetch_feed(client, FeedSource("c", server.url("/cond.rss")), timeout=5)
    assert first.status == "ok"
    assert (first.etag, first.last_modified) == (etag, stamp)

    again = FeedSource("c", server.url("/cond.rss"), first.etag, first.last_modified)
    second = await fetch_feed(client, again, timeout=5)
    assert second.status == "not_modified"
    assert second.items == ()
    assert (second.etag, second.last_modified) == (etag, stamp)
    sent = server.requests[-1][1]
    assert sent["if-none-match"] == etag
    assert sent["if-modified-since"] == stamp
    # The first request had nothing stored to send.
    assert "if-none-match" not in server.requests[0][1]

    # Last-Modified alone is enough, for servers without ETags.
    only_date = FeedSource("c", server.url("/cond.rss"), last_modified=stamp)
    assert (await fetch_feed(client, only_date, timeout=5)).status == "not_modified"


async def test_a_failure_keeps_the_stored_validators(server, client):
    server.routes["/down.rss"] = lambda _h: Reply(503, b"busy")
    source = FeedSource("d", server.url("/down.rss"), '"v7"', "Sun, 22 Nov 2026 01:00:00 GMT")
    result = await fetch_feed(client, source, timeout=5)

    assert result.status == "failed"
    assert (result.etag, result.last_modified) == ('"v7"', "Sun, 22 Nov 2026 01:00:00 GMT")


# ------------------------------------------------------------------ bad feeds fail, never raise


async def test_bad_feeds_fail_with_a_reason(server, client):
    server.routes["/500.rss"] = lambda _h: Reply(500, b"Internal Server Error")
    server.routes["/gone.rss"] = lambda _h: Reply(404, b"")
    server.feed("/page.html", HTML_PAGE, "text/html; charset=utf-8")
    server.feed("/page-as-xml.rss", HTML_PAGE, "application/xml")
    server.feed("/garbage.rss", bytes(range(256)) * 20, "application/rss+xml")
    server.feed("/empty.rss", b"", "application/rss+xml")
    server.feed("/json.rss", '{"items": []}', "application/json")

    async def reason(path: str) -> str:
        result = await fetch_feed(client, FeedSource(path, server.url(path)), timeout=5)
        assert result.status == "failed"
        assert result.items == ()
        return result.reason or ""

    assert "HTTP 500" in await reason("/500.rss")
    assert "已失效" in await reason("/gone.rss")
    assert "网页" in await reason("/page.html")
    assert "网页" in await reason("/page-as-xml.rss")
    assert "无法解析" in await reason("/garbage.rss")
    assert "无法解析" in await reason("/empty.rss")
    assert "无法解析" in await reason("/json.rss")


async def test_a_slow_feed_times_out(server, client):
    server.feed("/slow.rss", GOV_RSS, "application/rss+xml", delay=30)
    started = time.monotonic()
    result = await fetch_feed(client, FeedSource("s", server.url("/slow.rss")), timeout=0.5)

    assert result.status == "failed"
    assert "超时" in (result.reason or "")
    assert time.monotonic() - started < 3


async def test_a_dripping_body_is_bounded_by_the_whole_timeout(server, client):
    # Each byte comes well within any per-read timeout; the whole body would take minutes.
    server.feed("/drip.rss", GOV_RSS, "application/rss+xml", drip=0.05)
    started = time.monotonic()
    result = await fetch_feed(client, FeedSource("d", server.url("/drip.rss")), timeout=1)

    assert result.status == "failed"
    assert "超时" in (result.reason or "")
    assert time.monotonic() - started < 4


async def test_an_oversized_body_is_refused(server, client):
    server.feed("/big.rss", rss("大", 2000), "application/rss+xml")
    result = await fetch_feed(
        client, FeedSource("b", server.url("/big.rss")), timeout=5, max_bytes=64 * 1024
    )
    assert result.status == "failed"
    assert "过大" in (result.reason or "")

    # Without a Content-Length (read until the server closes) the cap holds as the body arrives.
    server.routes["/unsized.rss"] = lambda _h: Reply(
        200, rss("大", 2000).encode(), {"Content-Length": ""}
    )
    result = await fetch_feed(
        client, FeedSource("u", server.url("/unsized.rss")), timeout=5, max_bytes=64 * 1024
    )
    assert result.status == "failed"
    assert "过大" in (result.reason or "")


async def test_redirects_are_followed_a_few_times(server, client):
    server.feed("/new.rss", GOV_RSS, "application/rss+xml")
    server.routes["/old.rss"] = lambda _h: Reply(301, b"", {"Location": "/new.rss"})
    server.routes["/tmp.rss"] = lambda _h: Reply(302, b"", {"Location": server.url("/new.rss")})
    server.routes["/loop.rss"] = lambda _h: Reply(302, b"", {"Location": "/loop.rss"})
    server.routes["/ftp.rss"] = lambda _h: Reply(302, b"", {"Location": "ftp://x/feed"})

    moved = await fetch_feed(client, FeedSource("o", server.url("/old.rss")), timeout=5)
    assert moved.status == "ok"
    assert moved.moved_to == server.url("/new.rss")

    temporary = await fetch_feed(client, FeedSource("t", server.url("/tmp.rss")), timeout=5)
    assert temporary.status == "ok"
    assert temporary.moved_to is None

    loop = await fetch_feed(client, FeedSource("l", server.url("/loop.rss")), timeout=5)
    assert loop.status == "failed"
    assert "重定向" in (loop.reason or "")
    assert sum(1 for path, _ in server.requests if path == "/loop.rss") == 6

    ftp = await fetch_feed(client, FeedSource("f", server.url("/ftp.rss")), timeout=5)
    assert ftp.status == "failed"


async def test_an_unreachable_server_or_bad_url_fails(client):
    with_no_server = FeedSource("x", "http://127.0.0.1:9/feed.rss")  # discard port: refused
    assert (await fetch_feed(client, with_no_server, timeout=2)).status == "failed"
    assert (await fetch_feed(client, FeedSource("y", "not a url"), timeout=2)).status == "failed"
    assert (await fetch_feed(client, FeedSource("z", "file:///etc/passwd"), timeout=2)).reason


# ------------------------------------------------------------------ many feeds


async def test_fetch_all_one_bad_feed_never_stops_the_others(server):
    server.feed("/gov.rss", GOV_RSS, "application/rss+xml")
    server.feed("/gd.atom", ATOM, "application/atom+xml")
    server.feed("/slow.rss", GOV_RSS, "application/rss+xml", delay=30)
    server.routes["/500.rss"] = lambda _h: Reply(500, b"oops")
    server.feed("/page.html", HTML_PAGE, "text/html")
    server.feed("/garbage.rss", b"\x00\xff garbage <<<", "application/rss+xml")
    for i in range(12):
        server.feed(f"/city{i}.rss", rss(f"市{i}", 5), "application/rss+xml")
    paths = ["/gov.rss", "/gd.atom", "/slow.rss", "/500.rss", "/page.html", "/garbage.rss"]
    paths += [f"/city{i}.rss" for i in range(12)]
    sources = [FeedSource(p, server.url(p)) for p in paths]

    started = time.monotonic()
    results = await fetch_all(sources, concurrency=4, timeout=1)

    assert set(results) == set(paths)
    assert all(isinstance(r, FeedResult) for r in results.values())
    failed = {k for k, r in results.items() if r.status == "failed"}
    assert failed == {"/slow.rss", "/500.rss", "/page.html", "/garbage.rss"}
    assert len(results["/gov.rss"].items) == 3
    assert len(results["/gd.atom"].items) == 2
    assert all(len(results[f"/city{i}.rss"].items) == 5 for i in range(12))
    assert server.max_in_flight <= 4
    # The slow feed held one slot for its timeout, not the whole run.
    assert time.monotonic() - started < 5


async def test_fetch_all_refuses_duplicate_keys():
    with pytest.raises(ValueError):
        await fetch_all([FeedSource(1, "http://a/"), FeedSource(1, "http://b/")])


async def test_fetch_all_with_a_shared_client(server, client):
    server.feed("/a.rss", rss("甲", 2), "application/rss+xml")
    results = await fetch_all([FeedSource("a", server.url("/a.rss"))], client=client)
    assert results["a"].status == "ok"
    assert not client.is_closed


# ------------------------------------------------------------------ new items


async def test_new_items_are_the_unseen_ones_once(server, client):
    text = rss("新", 4).replace("<guid>新-3</guid>", "<guid>新-1</guid>")  # a repeated guid
    server.feed("/n.rss", text, "application/rss+xml")
    result = await fetch_feed(client, FeedSource("n", server.url("/n.rss")), timeout=5)

    fresh = new_items(result, {"新-0"})
    assert [i.id for i in fresh] == ["新-1", "新-2"]
    assert fresh[0].title == "新第1条"
    assert new_items(result, {"新-0", "新-1", "新-2"}) == []
    assert new_items(FeedResult("not_modified"), set()) == []
    assert new_items(FeedResult("failed", "x"), []) == []
