"""Load on the WeChat endpoint, beside a bare Quart endpoint on the same server settings, and a
retry storm. Prints figures; asserts nothing.

    python -m bench.bot_bench [--kb ../shared/data/match-dev/kb.jsonl]
        [--queries ../shared/data/match-dev/queries.jsonl] [--connections 50] [--seconds 20]
        [--redis-url redis://127.0.0.1:6379/9] [--database-url postgres://…/db]

Each run: a scratch SQLite database (or the given one, emptied), the demo city, the KB imported
and published, `minsheng serve` (one hypercorn process, logging on) on a free port; wrk posts
text messages with valid signatures and distinct MsgIds and users (needs `apt install wrk`).
Then the same wrk run against a bare Quart app that answers a fixed XML. Then the storm: every
message of N conversations that end in a letter is sent 4 times at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from adapters.wechat_protocol import parse_xml, sign

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TOKEN = "minsheng-demo"
TS, NONCE = "1700000000", "4242"
QUERY = f"timestamp={TS}&nonce={NONCE}&signature={sign(TOKEN, TS, NONCE)}"

BARE_APP = """
from quart import Quart, Response, request
app = Quart(__name__)
XML = "<xml><ToUserName><![CDATA[u]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName>" \\
      "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType>" \\
      "<Content><![CDATA[ok]]></Content></xml>"
@app.post("/wechat/<code>")
async def receive(code):
    await request.get_data()
    return Response(XML, mimetype="application/xml")
"""

WRK_LUA = """
local texts = {%(texts)s}
local counter = 0
local tid = 0
local threads = 0
-- MsgIds and users unique to this run (Redis outlives the scratch database between runs).
function setup(thread)
  threads = threads + 1
  thread:set("tid", %(base)d + threads)
end
function init(args)
  tid = tonumber(wrk.thread:get("tid"))
end
request = function()
  counter = counter + 1
  local id = tid * 100000000 + counter
  local text = texts[(id %% #texts) + 1]
  local body = "<xml><ToUserName><![CDATA[gh_demo]]></ToUserName>" ..
    "<FromUserName><![CDATA[u" .. id .. "]]></FromUserName><CreateTime>1700000000</CreateTime>" ..
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" .. text .. "]]></Content>" ..
    "<MsgId>" .. id .. "</MsgId></xml>"
  return wrk.format("POST", "/wechat/demo?%(query)s", {["Content-Type"] = "text/xml"}, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def prepare(env: dict[str, str], kb: Path) -> int:
    from accounts.demo import seed_demo_accounts
    from infra.db import close_db, migrate_db, open_db
    from infra.deps import build_deps
    from infra.settings import Settings
    from knowledge.transfer import import_entries
    from org.access import Actor
    from org.demo import seed_demo

    settings = Settings(database_url=env["MINSHENG_DATABASE_URL"])
    await migrate_db(settings.database_url)
    await open_db(settings)
    try:
        deps = build_deps(settings)
        await seed_demo(deps)
        await seed_demo_accounts(deps)
        from org.models import Unit

        # Entries without an answer cannot be published; the bench's KB may have empty ones.
        rows = [json.loads(line) for line in kb.open(encoding="utf-8") if line.strip()]
        for row in rows:
            row["answer"] = row.get("answer") or f"（{row['question']}的答复）"
        data = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
        report = await import_entries(
            Actor.system("压测"),
            data,
            fmt="jsonl",
            publish=True,
            unit_id=(await Unit.get(code="QY-BGS")).id,
            clock=deps.clock,
            redis=None,
        )
        return report.created
    finally:
        await close_db()


def start(cmd: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server on {port} did not start; see {log}")


def wrk(port: int, script: Path, connections: int, seconds: int) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {"raw": out}
    figures["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        value = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
        figures[f"p{pct}_ms"] = value
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["socket_errors"] = errors.group(1) if errors else "none"
    figures["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    figures["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    return figures


def message(user: str, msg_id: str, text: str) -> bytes:
    return (
        "<xml><ToUserName><![CDATA[gh_demo]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>1700000000</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    ).encode()


async def storm(port: int, users: int) -> dict:
    """Each message of each conversation sent 4 times at once, as WeChat's retries could."""
    steps = ["留言", "我家小区门口的路灯坏了三个月一直没人来修", "1", "1", "跳过", "跳过", "1"]
    url = f"http://127.0.0.1:{port}/wechat/demo?{QUERY}"
    mismatched, codes = 0, set()
    run = random.randrange(10**6, 10**7)
    async with httpx.AsyncClient(timeout=30) as client:

        async def conversation(n: int) -> None:
            nonlocal mismatched
            for i, text in enumerate(steps):
                # Ids unique to this run: Redis outlives the scratch database between runs.
                body = message(f"storm{run}-{n}", f"{run}{n:05d}{i:02d}", text)
                answers = await asyncio.gather(*(client.post(url, content=body) for _ in range(4)))
                contents = {
                    parse_xml(r.content)["Content"] for r in answers if r.status_code == 200
                }
                if len(contents) != 1 or any(r.status_code != 200 for r in answers):
                    mismatched += 1
                if i == len(steps) - 1 and contents:
                    found = re.search(r"跟踪码：(\S+)", next(iter(contents)))
                    if found:
                        codes.add(found.group(1))

        await asyncio.gather(*(conversation(n) for n in range(users)))
    return {
        "users": users,
        "messages": users * len(steps),
        "sends": users * len(steps) * 4,
        "steps_with_differing_replies": mismatched,
        "tracking_codes": len(codes),
    }


async def count_letters(database_url: str) -> int:
    from infra.db import close_db, open_db
    from infra.settings import Settings
    from letters.models import Letter

    await open_db(Settings(database_url=database_url))
    try:
        return await Letter.filter(content__contains="路灯坏了三个月").count()
    finally:
        await close_db()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=DATA / "match-dev" / "kb.jsonl")
    parser.add_argument("--queries", type=Path, default=DATA / "match-dev" / "queries.jsonl")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--storm-users", type=int, default=50)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("需要 wrk：apt install wrk")
    work = Path(tempfile.mkdtemp(prefix="ms-bench-"))
    database_url = args.database_url or f"sqlite://{work}/bench.db"
    port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "MINSHENG_DATABASE_URL": database_url,
        "MINSHENG_REDIS_URL": args.redis_url,
        "MINSHENG_PORT": str(port),
        "MINSHENG_COOKIE_SECURE": "false",
        "PYTHONUNBUFFERED": "1",
    }
    t0 = time.perf_counter()
    created = asyncio.run(prepare(env, args.kb))
    print(f"KB: {created} entries imported and published in {time.perf_counter() - t0:.1f} s")
    rng = random.Random(7)
    texts = [json.loads(line)["text"] for line in args.queries.open(encoding="utf-8")]
    texts = rng.sample(texts, min(2000, len(texts)))
    lua_texts = ",".join(json.dumps(t, ensure_ascii=False).replace("]]", "] ]") for t in texts)
    script = work / "wechat.lua"
    base = random.randrange(10**4, 10**5) * 10
    script.write_text(
        WRK_LUA % {"texts": lua_texts, "query": QUERY, "base": base}, encoding="utf-8"
    )
    (work / "bare_app.py").write_text(BARE_APP, encoding="utf-8")

    server = start([sys.executable, "-m", "quart_app", "serve"], env, port, work / "server.log")
    try:
        # Warm: the index builds in the background at start; wait until an answer comes.
        for _ in range(600):
            r = httpx.post(
                f"http://127.0.0.1:{port}/wechat/demo?{QUERY}",
                content=message("warm", "1", "怎么办理居住证"),
                timeout=10,
            )
            if r.status_code == 200 and "请稍候" not in r.text:
                break
            time.sleep(0.2)
        product = wrk(port, script, args.connections, args.seconds)
        storm_figures = asyncio.run(storm(port, args.storm_users))
    finally:
        server.terminate()
        server.wait(timeout=20)
    letters = asyncio.run(count_letters(database_url))

    bare = start(
        [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{bare_port}", "bare_app:app"],
        {**env, "PYTHONPATH": str(work)},
        bare_port,
        work / "bare.log",
    )
    try:
        baseline = wrk(bare_port, script, args.connections, args.seconds)
    finally:
        bare.terminate()
        bare.wait(timeout=20)

    print(f"\nwrk -t2 -c{args.connections} -d{args.seconds}s, one server process each")
    print(f"{'':24}{'req/s':>10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'errors':>10}")
    for name, f in (("WeChat endpoint + bot", product), ("bare Quart endpoint", baseline)):
        errors = f["non_2xx"] + (0 if f["socket_errors"] == "none" else 1)
        print(
            f"{name:24}{f['rps']:>10.0f}{f['p50_ms']:>10.1f}{f['p90_ms']:>10.1f}"
            f"{f['p99_ms']:>10.1f}{errors:>10}"
        )
    print(f"throughput ratio: {product['rps'] / baseline['rps']:.2f} of the bare endpoint")
    print(f"socket errors: product {product['socket_errors']}, bare {baseline['socket_errors']}")
    print(f"\nretry storm: {storm_figures}")
    print(f"letters in the database from the storm: {letters} (expected {args.storm_users})")
    print(f"work dir: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
