"""The source-watching job's feed reading at size: 200 feeds of 50 items each (issue 14).

    python -m bench.feeds_bench [--feeds 200 --items 50 --latency 0.2 --concurrency 20 --slow 0]

A local HTTP server in a child process (so its CPU is not counted as ours) serves gov.cn-shaped
RSS 2.0 feeds (Chinese titles and summaries, RFC 822 dates with +0800, ETag and Last-Modified),
each answer delayed by --latency seconds to stand in for the network; --slow feeds never answer
within the timeout. Prints the seconds for ``fetch_all`` cold (every feed 200 and parsed) and warm
(the stored validators sent back, every feed 304), the CPU seconds of this process, and the
1-minute load average before and after. Target: cold ≤ 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.common import free_port, load, wait_until_answering
from publishing.feeds import FeedSource, fetch_all

TIMEOUT = 10.0
SUMMARY = (
    "为深入贯彻落实党中央、国务院决策部署，进一步优化政务服务、提升行政效能，"
    "推动政务服务从“能办”向“好办、易办”转变，经国务院同意，现提出如下意见。"
) * 3


def feed_body(n: int, items: int) -> bytes:
    entries = "".join(
        f"<item><title>国务院办公厅关于第{n}号来源第{i}项政策的通知</title>"
        f"<link>https://www.gov.cn/zhengce/content/2026{n:03d}/content_{i:07d}.htm</link>"
        f'<guid isPermaLink="false">src{n}-content_{i:07d}</guid>'
        f"<pubDate>Mon, 23 Nov 2026 {i % 24:02d}:{i % 60:02d}:00 +0800</pubDate>"
        f"<description><![CDATA[<p>{SUMMARY}</p>]]></description></item>\n"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>来源{n}_最新政策</title><link>https://www.gov.cn/</link>"
        f"<description>最新政策</description><language>zh-cn</language>\n{entries}"
        "</channel></rss>\n"
    ).encode()


def serve(port: int, feeds: int, items: int, latency: float, slow: int) -> None:
    bodies = {f"/feed/{n}.rss": feed_body(n, items) for n in range(feeds)}
    stamp = "Mon, 23 Nov 2026 10:30:00 GMT"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            n = int(self.path.rsplit("/", 1)[-1].split(".")[0]) if self.path in bodies else -1
            time.sleep(TIMEOUT * 3 if 0 <= n < slow else latency)
            body = bodies.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = f'"v1-{n}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", stamp)
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


async def run(args: argparse.Namespace, port: int) -> None:
    sources = [FeedSource(n, f"http://127.0.0.1:{port}/feed/{n}.rss") for n in range(args.feeds)]
    cpu, started = time.process_time(), time.perf_counter()
    cold = await fetch_all(sources, concurrency=args.concurrency, timeout=TIMEOUT)
    cold_s, cold_cpu = time.perf_counter() - started, time.process_time() - cpu
    ok = [r for r in cold.values() if r.status == "ok"]
    print(
        f"cold: {cold_s:.2f} s for {len(sources)} feeds (target ≤ 30 s), "
        f"{len(ok)} ok, {len(sources) - len(ok)} failed, "
        f"{sum(len(r.items) for r in ok)} items, {cold_cpu:.2f} s CPU in this process"
    )
    reasons = {r.reason for r in cold.values() if r.status == "failed"}
    if reasons:
        print(f"      failures: {sorted(reasons)}")

    stored = [
        FeedSource(s.key, s.url, cold[s.key].etag, cold[s.key].last_modified) for s in sources
    ]
    cpu, started = time.process_time(), time.perf_counter()
    warm = await fetch_all(stored, concurrency=args.concurrency, timeout=TIMEOUT)
    warm_s, warm_cpu = time.perf_counter() - started, time.process_time() - cpu
    unchanged = sum(1 for r in warm.values() if r.status == "not_modified")
    print(
        f"warm: {warm_s:.2f} s, {unchanged} not modified (304), "
        f"{warm_cpu:.2f} s CPU in this process"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds before each answer")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--slow", type=int, default=0, help="feeds that never answer in time")
    args = parser.parse_args()

    port = free_port()
    server = multiprocessing.Process(
        target=serve,
        args=(port, args.feeds, args.items, args.latency, args.slow),
        daemon=True,
    )
    server.start()
    try:
        wait_until_answering(port, seconds=10)
        print(
            f"{args.feeds} feeds × {args.items} items, latency {args.latency:g} s, "
            f"concurrency {args.concurrency}, timeout {TIMEOUT:g} s, {args.slow} slow feeds, "
            f"{os.cpu_count()} CPUs"
        )
        print(f"load average before: {load():.2f} (1 min)")
        asyncio.run(run(args, port))
        print(f"load average after: {load():.2f} (1 min)")
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
