"""Load on the WeChat endpoint, beside a bare Quart endpoint on the same server settings, and a
retry storm. Prints figures; asserts nothing.

    python -m bench.bot_bench [--kb ../shared/data/match-dev/kb.jsonl]
        [--queries ../shared/data/match-dev/queries.jsonl] [--connections 50] [--seconds 20]
        [--rounds 3] [--warmup 10] [--cold-seconds 5]
        [--redis-url redis://127.0.0.1:6379/9] [--database-url postgres://…/db]

Each run: a scratch SQLite database (or the given one, emptied), the demo city, the KB imported
and published, `minsheng serve` (one hypercorn process, logging on) on a free port, and
`minsheng worker` beside it writing the question log; a throwaway redis-server unless a URL is
given. wrk posts text messages with valid signatures and distinct MsgIds and users (needs `apt
install wrk`), drawing texts from a sample of the queries.

- warm-up: one wrk pass over the sample, so that every sampled text has been asked once (the
  decision cache holds it, as it holds a city's common questions after a while in service);
- rounds: the WeChat endpoint, then a bare Quart app answering a fixed XML, alternately, so that
  a noisy machine affects both alike; the median ratio is the figure;
- cold: texts outside the sample, each asked for the first time (the matcher runs every time);
- the storm: every message of N conversations that end in a letter is sent 4 times at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
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
WRK_THREADS = 2
WRK_RATE_PER_THREAD = 3000  # requests a second one wrk thread is given signed queries for


def query(nonce: str | None = None) -> str:
    """A callback query signed as WeChat signs it: now, and a nonce never used before (the
    endpoint refuses stale timestamps and replayed nonces)."""
    ts = str(int(time.time()))
    nonce = nonce or secrets.token_hex(8)
    return f"timestamp={ts}&nonce={nonce}&signature={sign(TOKEN, ts, nonce)}"


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
-- %(name)s
local texts = {%(texts)s}
-- Signed queries, %(per)d per thread, each used once (one string: LuaJIT caps constants).
local queries = {}
for q in string.gmatch("%(queries)s", "[^ ]+") do queries[#queries + 1] = q end
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
  local q = queries[(tid - %(base)d - 1) * %(per)d + ((counter - 1) %% %(per)d) + 1]
  return wrk.format("POST", "/wechat/demo?" .. q, {["Content-Type"] = "text/xml"}, body)
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
    from knowledge.importing import import_entries
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
            f"-t{WRK_THREADS}",
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
    mismatched, codes = 0, set()
    run = random.randrange(10**6, 10**7)
    async with httpx.AsyncClient(timeout=30) as client:

        async def conversation(n: int) -> None:
            nonlocal mismatched
            for i, text in enumerate(steps):
                # Ids unique to this run: Redis outlives the scratch database between runs.
                body = message(f"storm{run}-{n}", f"{run}{n:05d}{i:02d}", text)
                # The four deliveries share a query, as a retry of WeChat's may.
                url = f"http://127.0.0.1:{port}/wechat/demo?{query()}"
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


async def count_rows(database_url: str) -> tuple[int, int]:
    """The storm's letters, and the questions the worker wrote to the log."""
    from infra.db import close_db, open_db
    from infra.settings import Settings
    from knowledge.models import Ask
    from letters.models import Letter

    await open_db(Settings(database_url=database_url))
    try:
        letters = await Letter.filter(content__contains="路灯坏了三个月").count()
        return letters, await Ask.all().count()
    finally:
        await close_db()


def wrk_script(work: Path, name: str, texts: list[str], seconds: int) -> Path:
    """A wrk script posting the given texts, with MsgIds, users and nonces no other script
    uses. Written just before its run: the queries' timestamps are good for 5 minutes."""
    lua_texts = ",".join(json.dumps(t, ensure_ascii=False).replace("]]", "] ]") for t in texts)
    base = random.randrange(10**4, 10**5) * 10
    per = seconds * WRK_RATE_PER_THREAD
    queries = " ".join(query() for _ in range(per * WRK_THREADS))
    script = work / f"{name}.lua"
    script.write_text(
        WRK_LUA % {"name": name, "texts": lua_texts, "queries": queries, "per": per, "base": base},
        encoding="utf-8",
    )
    return script


def start_redis(work: Path) -> tuple[subprocess.Popen, str]:
    if not shutil.which("redis-server"):
        raise SystemExit("需要 redis-server（apt install redis-server）或 --redis-url")
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=(work / "redis.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("redis-server did not start")


def row(name: str, f: dict) -> str:
    errors = f["non_2xx"] + (0 if f["socket_errors"] == "none" else 1)
    return (
        f"{name:28}{f['rps']:>9.0f}{f['p50_ms']:>9.1f}{f['p90_ms']:>9.1f}"
        f"{f['p99_ms']:>9.1f}{errors:>8}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=DATA / "match-dev" / "kb.jsonl")
    parser.add_argument("--queries", type=Path, default=DATA / "match-dev" / "queries.jsonl")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--cold-seconds", type=int, default=5)
    parser.add_argument("--sample", type=int, default=2000, help="texts asked repeatedly")
    parser.add_argument("--storm-users", type=int, default=50)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("需要 wrk：apt install wrk")
    work = Path(tempfile.mkdtemp(prefix="ms-bench-"))
    database_url = args.database_url or f"sqlite://{work}/bench.db"
    redis_proc, redis_url = (None, args.redis_url) if args.redis_url else start_redis(work)
    port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "MINSHENG_DATABASE_URL": database_url,
        "MINSHENG_REDIS_URL": redis_url,
        "MINSHENG_PORT": str(port),
        "MINSHENG_COOKIE_SECURE": "false",
        "PYTHONUNBUFFERED": "1",
    }
    t0 = time.perf_counter()
    created = asyncio.run(prepare(env, args.kb))
    print(f"KB: {created} entries imported and published in {time.perf_counter() - t0:.1f} s")
    rng = random.Random(7)
    texts = [json.loads(line)["text"] for line in args.queries.open(encoding="utf-8")]
    rng.shuffle(texts)
    sample, fresh = texts[: args.sample], texts[args.sample :]
    (work / "bare_app.py").write_text(BARE_APP, encoding="utf-8")

    procs = []
    try:
        server = start([sys.executable, "-m", "quart_app", "serve"], env, port, work / "server.log")
        procs.append(server)
        # The worker writes the question log the server queues (as in production).
        worker = subprocess.Popen(
            [sys.executable, "-m", "quart_app", "worker"],
            env=env,
            stdout=(work / "worker.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append(worker)
        bare = start(
            [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{bare_port}", "bare_app:app"],
            {**env, "PYTHONPATH": str(work)},
            bare_port,
            work / "bare.log",
        )
        procs.append(bare)
        # The index builds in the background at start; wait until an answer comes.
        for _ in range(600):
            r = httpx.post(
                f"http://127.0.0.1:{port}/wechat/demo?{query()}",
                content=message("warm", "1", "怎么办理居住证"),
                timeout=10,
            )
            if r.status_code == 200 and "请稍候" not in r.text:
                break
            time.sleep(0.2)
        warm = wrk(
            port, wrk_script(work, "warmup", sample, args.warmup), args.connections, args.warmup
        )
        rounds = []
        for i in range(args.rounds):
            product = wrk(
                port,
                wrk_script(work, f"round{i}", sample, args.seconds),
                args.connections,
                args.seconds,
            )
            baseline = wrk(
                bare_port,
                wrk_script(work, f"bare{i}", sample, args.seconds),
                args.connections,
                args.seconds,
            )
            rounds.append((product, baseline))
        cold = wrk(
            port,
            wrk_script(work, "cold", fresh, args.cold_seconds),
            args.connections,
            args.cold_seconds,
        )
        storm_figures = asyncio.run(storm(port, args.storm_users))
        time.sleep(6)  # one more flush of the question log
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        if redis_proc is not None:
            redis_proc.terminate()
    letters, logged = asyncio.run(count_rows(database_url))

    print(f"\nwrk -t2 -c{args.connections}, one server process each; {len(sample)} texts sampled")
    print(f"{'':28}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}")
    print(row(f"warm-up ({args.warmup} s)", warm))
    ratios = []
    for i, (product, baseline) in enumerate(rounds, 1):
        print(row(f"round {i}: WeChat + bot", product))
        print(row(f"round {i}: bare Quart", baseline))
        ratios.append(product["rps"] / baseline["rps"])
    print(row(f"cold: new texts ({args.cold_seconds} s)", cold))
    ratios.sort()
    print(f"throughput ratio per round: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"median throughput ratio: {ratios[len(ratios) // 2]:.2f} of the bare endpoint")
    worst = max(p["p99_ms"] for p, _ in rounds)
    print(f"worst p99 of the WeChat endpoint over the rounds: {worst:.1f} ms")
    sent = sum(p["requests"] for p, _ in rounds) + warm["requests"] + cold["requests"]
    print(f"questions in the log: {logged} (messages sent: {sent}, and the storm's)")
    print(f"\nretry storm: {storm_figures}")
    print(f"letters in the database from the storm: {letters} (expected {args.storm_users})")
    print(f"work dir: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
