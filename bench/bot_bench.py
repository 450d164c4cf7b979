"""The WeChat endpoint under load, beside a bare Quart endpoint on the same server settings, on
citizens' own messages; and a retry storm. Prints figures with the load average; asserts nothing.

    python -m bench.bot_bench [--kb ../shared/data/match-dev/kb.jsonl] [--servers 1 2 4]
        [--connections 50] [--seconds 10] [--rounds 3] [--warmup 10] [--storm-users 50]
        [--redis-url redis://127.0.0.1:6379/9] [--database-url postgres://…/db]

Each run: a scratch SQLite database (or a new one on the PostgreSQL server given, dropped at the
end), the demo city, the KB imported and published; then for each --servers N: `minsheng serve
--workers N` (hypercorn, logging on) and one `minsheng worker` beside it writing the question
log, a throwaway redis-server unless a URL is given, and a fake WeChat API on loopback
(MINSHENG_WECHAT_API_BASE): a late answer goes there, never to the real host. wrk posts text
messages with valid signatures and distinct MsgIds and users (needs `apt install wrk`). More
than one web process needs PostgreSQL and Redis.

- cold (the headline): every text of ../shared/data/citizen-messages.jsonl in turn, each pass
  through the list opening with another greeting ("您好！", "你好，" …), so that no text is
  asked twice in a run and every message misses the per-process decision cache, as citizens'
  own messages do;
- warm: a sample of the KB's queries asked over and over (the decision cache holds them, as it
  holds a city's common questions after a while in service), after one warm-up pass;
- bare: a Quart app answering a fixed XML, run with as many hypercorn workers;
- rounds: warm then bare, then (after all of them, since citizens' texts push the sample out of
  the cache, and after a warm-up pass of other citizens' texts, as a process in service has met
  citizens' words before) cold then bare, so that a noisy machine affects both sides alike; the
  figures are the medians over the rounds of product / bare throughput, and of product p99 /
  bare p99 (absolute p99 depends on the machine);
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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from adapters.wechat_protocol import parse_xml, sign
from bench import scratch
from tests.probes.harness import WechatApiStub

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
-- Each pass through the texts opens them with another greeting (cold runs): no text twice.
local greetings = {%(greetings)s}
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
  -- the threads take the texts in turn, from where the last script stopped
  local n = %(start)d + (counter - 1) * %(threads)d + (tid - %(base)d - 1)
  local text = greetings[(math.floor(n / #texts) %% #greetings) + 1] .. texts[(n %% #texts) + 1]
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


def wrk_script(
    work: Path,
    name: str,
    texts: list[str],
    seconds: int,
    start: int = 0,
    greetings: tuple[str, ...] = ("",),
) -> Path:
    """A wrk script posting the given texts in turn from ``start``, with MsgIds, users and
    nonces no other script uses. Written just before its run: the queries' timestamps are good
    for 5 minutes."""
    lua_texts = ",".join(lua_string(t) for t in texts)
    base = random.randrange(10**4, 10**5) * 10
    per = seconds * WRK_RATE_PER_THREAD
    queries = " ".join(query() for _ in range(per * WRK_THREADS))
    script = work / f"{name}.lua"
    script.write_text(
        WRK_LUA
        % {
            "name": name,
            "texts": lua_texts,
            "greetings": ",".join(lua_string(g) for g in greetings),
            "queries": queries,
            "per": per,
            "base": base,
            "start": start,
            "threads": WRK_THREADS,
        },
        encoding="utf-8",
    )
    return script


def lua_string(text: str) -> str:
    # inside CDATA: "]]>" would end it
    return json.dumps(text.replace("]]", "] ]"), ensure_ascii=False)


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
    cpu = f"{f['cpu_ms']:>9.2f}" if "cpu_ms" in f else ""
    return (
        f"{name:30}{f['rps']:>9.0f}{f['p50_ms']:>9.1f}{f['p90_ms']:>9.1f}"
        f"{f['p99_ms']:>9.1f}{errors(f):>8}{cpu}"
    )


def errors(f: dict) -> int:
    socket_errors = sum(int(n) for n in re.findall(r"\d+", f["socket_errors"]))
    return f["non_2xx"] + socket_errors


def cpu_seconds(root: int) -> float:
    """CPU time used so far by a process and its descendants (Linux /proc): what a request
    costs, which the machine's load changes much less than the throughput."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def median(values: list[float]) -> float:
    """The median; of an even count, the mean of the middle two (with two rounds, taking the upper
    one reported the better round as the headline)."""
    return statistics.median(values)


GREETINGS = ("", "您好！", "你好，", "领导您好：", "麻烦问一下，", "打扰了，", "您好，想问下：")


def run_servers(args, env: dict, work: Path, n: int, sample: list[str], citizen: list[str]):
    """One setting: n web processes (and n bare ones), the worker beside them."""
    port, bare_port = free_port(), free_port()
    env = {**env, "MINSHENG_PORT": str(port)}
    procs = []
    try:
        server = start(
            [sys.executable, "-m", "quart_app", "serve", "--workers", str(n)],
            env,
            port,
            work / f"server{n}.log",
        )
        procs.append(server)
        # The worker writes the question log the servers queue (as in production).
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "quart_app", "worker"],
                env=env,
                stdout=(work / f"worker{n}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
        )
        bare = start(
            [
                sys.executable,
                "-m",
                "hypercorn",
                "--workers",
                str(n),
                "--bind",
                f"127.0.0.1:{bare_port}",
                "bare_app:app",
            ],
            {**env, "PYTHONPATH": f"{work}{os.pathsep}{env.get('PYTHONPATH', '')}"},
            bare_port,
            work / f"bare{n}.log",
        )
        procs.append(bare)
        # Every process builds its index in the background at start; wait until each answers.
        answered = 0
        for i in range(1200):
            r = httpx.post(
                f"http://127.0.0.1:{port}/wechat/demo?{query()}",
                content=message(f"ready{n}-{i}", f"{n}{i:06d}", "怎么办理居住证"),
                timeout=10,
            )
            answered = answered + 1 if r.status_code == 200 and "请稍候" not in r.text else 0
            if answered >= 4 * n:
                break
            time.sleep(0.1)
        c, secs = args.connections, args.seconds

        def measured(pid: int, port_: int, script: Path) -> dict:
            before = cpu_seconds(pid)
            spy = profile(pid, secs, args.profile, script.stem)
            figures = wrk(port_, script, c, secs)
            if spy is not None:
                spy.wait()
            figures["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / max(figures["requests"], 1)
            return figures

        # every process has its own decision cache: each must see the sample once
        up = args.warmup * n
        warm = wrk(port, wrk_script(work, f"warmup{n}", sample, up), c, up)
        # Warm rounds first: a cold run fills the decision cache with citizens' texts and
        # pushes the sample out of it.
        rounds = []
        for i in range(args.rounds):
            hot = measured(server.pid, port, wrk_script(work, f"warm{n}-{i}", sample, secs))
            bare_warm = measured(bare.pid, bare_port, wrk_script(work, f"bw{n}-{i}", sample, secs))
            rounds.append({"warm": hot, "bare_warm": bare_warm})
        # A process in service has met citizens' words before: the analyses of the knowledge
        # base's questions they retrieve are made once in its life (most of them in its first
        # pass over citizens' messages), as the warm rounds' are in their warm-up. Other texts
        # than the rounds', so that no text is asked twice; its figures are printed apart.
        cold_up = wrk(port, wrk_script(work, f"coldup{n}", citizen, up, 0, GREETINGS), c, up)
        start_at = cold_up["requests"] + 1000
        for i in range(args.rounds):
            cold = measured(
                server.pid,
                port,
                wrk_script(work, f"cold{n}-{i}", citizen, secs, start_at, GREETINGS),
            )
            start_at += cold["requests"] + 1000
            baseline = measured(bare.pid, bare_port, wrk_script(work, f"bc{n}-{i}", sample, secs))
            rounds[i].update(cold=cold, bare=baseline, load=load())
        storm_figures = asyncio.run(storm(port, args.storm_users)) if n == args.servers[0] else None
        time.sleep(6)  # one more flush of the question log
        return {
            "warmup": warm,
            "cold_warmup": cold_up,
            "rounds": rounds,
            "storm": storm_figures,
            "cold_asked": start_at,
        }
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def profile(pid: int, secs: int, out: Path | None, label: str) -> subprocess.Popen | None:
    """py-spy sampling the process for the run (--profile DIR): DIR/label.txt in py-spy's raw
    format, one line per distinct stack with its sample count."""
    if out is None:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [spy, "record", "-p", str(pid), "-d", str(secs), "-r", "250", "-f", "raw",
         "--nonblocking", "-o", str(out / f"{label}.txt")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def report(n: int, figures: dict, args) -> dict:
    print(
        f"\n== {n} web process(es), wrk -t{WRK_THREADS} -c{args.connections}, "
        f"{args.seconds} s a run"
    )
    print(
        f"{'':30}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}{'CPU ms/req':>11}"
    )
    print(row(f"warm-up ({args.warmup * n} s)", figures["warmup"]))
    cold_ratio, warm_ratio, cold_p99, warm_p99 = [], [], [], []
    for i, r in enumerate(figures["rounds"], 1):
        print(row(f"round {i}: warm (repeated)", r["warm"]))
        print(row(f"round {i}: bare Quart", r["bare_warm"]))
    print(row(f"cold warm-up ({args.warmup * n} s)", figures["cold_warmup"]))
    for i, r in enumerate(figures["rounds"], 1):
        print(row(f"round {i}: cold (citizens)", r["cold"]))
        print(row(f"round {i}: bare Quart", r["bare"]))
        print(f"{'':30}{r['load']}")
        cold_ratio.append(r["cold"]["rps"] / r["bare"]["rps"])
        warm_ratio.append(r["warm"]["rps"] / r["bare_warm"]["rps"])
        cold_p99.append(r["cold"]["p99_ms"] / r["bare"]["p99_ms"])
        warm_p99.append(r["warm"]["p99_ms"] / r["bare_warm"]["p99_ms"])
    all_errors = sum(errors(r[k]) for r in figures["rounds"] for k in ("cold", "warm"))
    summary = {
        "cold": median(cold_ratio),
        "warm": median(warm_ratio),
        "cold_p99": median(cold_p99),
        "warm_p99": median(warm_p99),
        "cold_rps": median([r["cold"]["rps"] for r in figures["rounds"]]),
        "bare_rps": median([r["bare"]["rps"] for r in figures["rounds"]]),
        "errors": all_errors,
    }
    print(
        f"cold: {summary['cold']:.2f} of the bare endpoint's throughput (rounds: "
        f"{', '.join(f'{x:.2f}' for x in cold_ratio)}), p99 {summary['cold_p99']:.1f}x bare's"
    )
    print(
        f"warm: {summary['warm']:.2f} of the bare endpoint's throughput (rounds: "
        f"{', '.join(f'{x:.2f}' for x in warm_ratio)}), p99 {summary['warm_p99']:.1f}x bare's"
    )
    print(f"errors (product, all rounds): {all_errors}")
    cpu = {k: median([r[k]["cpu_ms"] for r in figures["rounds"]]) for k in ("cold", "warm", "bare")}
    print(
        f"CPU per request (web processes; the worker apart): cold {cpu['cold']:.2f} ms, "
        f"warm {cpu['warm']:.2f} ms, bare {cpu['bare']:.2f} ms"
    )
    print(f"citizens' messages asked cold: {figures['cold_asked']:,} (no text twice)")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=DATA / "match-dev" / "kb.jsonl")
    parser.add_argument("--queries", type=Path, default=DATA / "match-dev" / "queries.jsonl")
    parser.add_argument("--messages", type=Path, default=DATA / "citizen-messages.jsonl")
    parser.add_argument("--servers", type=int, nargs="+", default=[1])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--sample", type=int, default=2000, help="texts asked repeatedly")
    parser.add_argument("--storm-users", type=int, default=50)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--profile", type=Path, help="sample each measured run with py-spy into this folder"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("需要 wrk：apt install wrk")
    if max(args.servers) > 1 and not args.database_url:
        raise SystemExit("多个 web 进程请用 PostgreSQL：--database-url postgres://…")
    work = Path(tempfile.mkdtemp(prefix="ms-bench-"))
    if not args.database_url:
        return run(args, work, f"sqlite://{work}/bench.db")
    # A new database on the server named, dropped at the end: the letters and questions counted
    # are this run's (a database used before held an earlier run's storm letters).
    name, database_url = asyncio.run(scratch.create_scratch(args.database_url, "minsheng_botbench"))
    try:
        return run(args, work, database_url)
    finally:
        asyncio.run(scratch.drop_scratch(args.database_url, name))


def run(args: argparse.Namespace, work: Path, database_url: str) -> int:
    """The bench on ``database_url`` (new and empty), its files in ``work``."""
    redis_proc, redis_url = (None, args.redis_url) if args.redis_url else start_redis(work)
    api = WechatApiStub()  # WeChat's API on loopback: a late answer lands here
    env = {
        **os.environ,
        "MINSHENG_DATABASE_URL": database_url,
        "MINSHENG_REDIS_URL": redis_url,
        "MINSHENG_COOKIE_SECURE": "false",
        # never the real WeChat: a late answer goes to the fake API on loopback
        "MINSHENG_WECHAT_API_BASE": api.url,
        "PYTHONUNBUFFERED": "1",
    }
    print(f"start: {load()}, {os.cpu_count()} CPUs")
    t0 = time.perf_counter()
    created = asyncio.run(prepare(env, args.kb))
    print(f"KB: {created} entries imported and published in {time.perf_counter() - t0:.1f} s")
    rng = random.Random(7)
    texts = [json.loads(line)["text"] for line in args.queries.open(encoding="utf-8")]
    rng.shuffle(texts)
    sample = texts[: args.sample]
    citizen = [json.loads(line)["text"] for line in args.messages.open(encoding="utf-8")]
    rng.shuffle(citizen)
    (work / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
    results = {}
    try:
        for n in args.servers:
            results[n] = run_servers(args, env, work, n, sample, citizen)
    finally:
        api.close()
        if redis_proc is not None:
            redis_proc.terminate()
    letters, logged = asyncio.run(count_rows(database_url))

    summaries = {n: report(n, results[n], args) for n in args.servers}
    if len(summaries) > 1:
        first = args.servers[0]
        print("\nscaling (cold, citizens' messages):")
        print(
            f"{'web processes':>14}{'req/s':>9}{'x':>7}{'bare req/s':>12}{'ratio':>7}"
            f"{'p99 x bare':>12}"
        )
        for n, sm in summaries.items():
            gain = sm["cold_rps"] / summaries[first]["cold_rps"]
            print(
                f"{n:>14}{sm['cold_rps']:>9.0f}{gain:>7.2f}{sm['bare_rps']:>12.0f}"
                f"{sm['cold']:>7.2f}{sm['cold_p99']:>12.1f}"
            )
    storm_figures = results[args.servers[0]]["storm"]
    print(f"\nquestions in the log: {logged}")
    print(f"retry storm: {storm_figures}")
    print(f"letters in the database from the storm: {letters} (expected {args.storm_users})")
    print(f"late answers sent to the fake WeChat API: {len(api.sent)}")
    print(f"end: {load()}; work dir: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
