"""CPU the WeChat endpoint spends per message, in-process and without wrk: the app driven
through ASGI with signed text messages whose text the decision cache already holds (the "warm"
path of bench.bot_bench, so the matcher is not run), beside a bare Quart endpoint driven the same
way. Prints CPU ms per message (``time.process_time``) and the product's excess over bare, with
the load average beside them; asserts nothing.

    python -m bench.wechat_cpu [--redis-url redis://127.0.0.1:6379/13] [--messages 3000]
        [--concurrency 1 50] [--trials 5] [--no-bare] [--sample 2000]

A scratch SQLite database with the demo city and its small knowledge base asked one question, or
(--sample N) bot_bench's warm run: match-dev's 10,072 entries and N of its queries in turn, each
decided once before the trials (its answers, suggestions and offers as the bench gets them). The
Redis database given is flushed before and after (use one nothing else uses). The figures are
the median over the trials (and the product's least, which the machine's other load disturbs
least); concurrency 50 lets the Redis batches fill as under load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from quart import Quart, Response, request

from bench.bot_bench import message
from bench.bot_bench import query as signed_query

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "match-dev"
KB, QUERIES = DATA / "kb.jsonl", DATA / "queries.jsonl"
QUESTION = "怎么办理清源市居住证？"
BARE_XML = (
    "<xml><ToUserName><![CDATA[u]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName>"
    "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[ok]]></Content></xml>"
)


def bare_app() -> Quart:
    app = Quart("bare")

    @app.post("/wechat/<code>")
    async def receive(code):
        await request.get_data()
        return Response(BARE_XML, mimetype="application/xml")

    return app


def query() -> bytes:
    return signed_query().encode()


async def post(app, payload: bytes, qs: bytes) -> tuple[int, bytes]:
    """One POST through the app's ASGI interface, as hypercorn calls it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/wechat/demo",
        "raw_path": b"/wechat/demo",
        "query_string": qs,
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"text/xml"),
            (b"content-length", str(len(payload)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "extensions": {},
    }
    sent = False
    status, chunks = 0, []

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def drive(app, n: int, concurrency: int, start: int, texts: str | list[str]) -> float:
    """CPU seconds for ``n`` messages (``texts`` in turn), ``concurrency`` in flight; every
    answer must be 200."""
    texts = [texts] if isinstance(texts, str) else texts
    payloads = [
        (message(f"cpu{start + i}", str(start + i), texts[(start + i) % len(texts)]), query())
        for i in range(n)
    ]
    todo = iter(payloads)
    bad = 0

    async def lane():
        nonlocal bad
        for payload, qs in todo:
            status, out = await post(app, payload, qs)
            if status != 200 or "请稍候".encode() in out:
                bad += 1

    gc.collect()
    began = time.process_time()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    used = time.process_time() - began
    if bad:
        raise SystemExit(f"{bad} of {n} messages were not answered in time")
    return used


@contextlib.asynccontextmanager
async def serving(redis_url: str, texts: str | list[str], kb: Path | None = None):
    """The app as it serves (and the bare one), its decision cache warmed with ``texts``: the
    demo city's knowledge base, or ``kb`` imported as bench.bot_bench imports it."""
    import redis.asyncio as aioredis

    from accounts.demo import seed_demo_accounts
    from infra.db import close_db, migrate_db, open_db
    from infra.deps import build_deps
    from infra.settings import Settings
    from knowledge.demo import seed_knowledge_demo
    from knowledge.live import knowledge_index
    from org.demo import seed_demo
    from quart_app import create_app

    work = Path(tempfile.mkdtemp(prefix="ms-wechat-cpu-"))
    settings = Settings(
        database_url=f"sqlite://{work}/db.sqlite3",
        redis_url=redis_url,
        account_cache_seconds=3600,
    )
    flusher = aioredis.from_url(redis_url)
    await flusher.flushdb()
    if kb is not None:
        from bench.bot_bench import prepare

        await prepare({"MINSHENG_DATABASE_URL": settings.database_url}, kb)
    else:
        await migrate_db(settings.database_url)
    await open_db(settings)
    try:
        deps = build_deps(settings)
        if kb is None:
            await seed_demo(deps)
            await seed_demo_accounts(deps)
            await seed_knowledge_demo(deps.clock, deps.redis)
        # In the order of serving: the app, then the index (whose build freezes the heap).
        app = create_app(settings, deps, manage_db=False)
        await knowledge_index(deps).ensure_fresh()
        texts = [texts] if isinstance(texts, str) else texts
        for i, text in enumerate(texts):
            status, out = await post(app, message(f"cpu-warm{i}", str(i + 1), text), query())
            if status != 200:
                raise SystemExit(f"warm-up answered {status}: {out[:200]!r}")
        yield app, bare_app()
    finally:
        await close_db()
        await flusher.flushdb()
        await flusher.aclose()
        shutil.rmtree(work, ignore_errors=True)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def sample(size: int, seed: int = 7) -> list[str]:
    """bench.bot_bench's warm sample: the first ``size`` of match-dev's queries, shuffled."""
    texts = [json.loads(line)["text"] for line in QUERIES.open(encoding="utf-8")]
    random.Random(seed).shuffle(texts)
    return texts[:size]


async def main_async(args) -> None:
    texts, kb = (sample(args.sample), KB) if args.sample else (args.text, None)
    async with serving(args.redis_url, texts, kb) as (app, bare):
        if kb is not None:
            print(f"{len(texts)} texts over {kb}")
        print(load())
        print(f"{'concurrency':>12}{'product ms':>12}{'(min)':>8}{'bare ms':>10}{'excess ms':>11}")
        start = 10
        for c in args.concurrency:
            product, plain = [], []
            for _ in range(args.trials):
                product.append(await drive(app, args.messages, c, start, texts))
                start += args.messages
                if not args.no_bare:
                    plain.append(await drive(bare, args.messages, c, start, texts))
                    start += args.messages
            print("  trials:", " ".join(f"{x * 1000 / args.messages:.3f}" for x in product))
            p = statistics.median(product) * 1000 / args.messages
            b = statistics.median(plain) * 1000 / args.messages if plain else 0.0
            low = min(product) * 1000 / args.messages
            print(f"{c:>12}{p:>12.3f}{low:>8.3f}{b:>10.3f}{p - b:>11.3f}")
        print(load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--text", default=QUESTION)
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        help="instead of --text: bot_bench's warm sample of this many match-dev queries, over "
        "match-dev's knowledge base (10,072 entries, imported first)",
    )
    parser.add_argument("--no-bare", action="store_true", help="the product only (profiling)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
