"""Probes: the product as it runs in production - ``minsheng serve`` and ``minsheng worker``
processes on a PostgreSQL cluster and a redis-server of the probe's own - driven from outside,
the way citizens' browsers and WeChat drive it. tests/probes/ runs the scenarios with small
numbers and asserts; bench/fault_bench.py runs them with large ones and prints the figures.

Each citizen calls from a loopback address of its own (127.0.x.y), as citizens do from their
own addresses: the per-address limits then count each citizen, not the whole probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import ssl
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from adapters.wechat_protocol import parse_xml, sign
from tests.faults import PostgresServer, RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
WECHAT_TOKEN = "minsheng-demo"  # the demo WeChat account (accounts/demo.py)
# A refused request is tried again after this (plus jitter): sooner than the Retry-After of
# 5 s that the product asks for, so that the probe stays short and presses the recovery harder.
RETRY_PAUSE = 0.2
MESSAGE_DEADLINE = 40.0
# A citizen reads the reply and types the next message: without it the citizens move in step
# and every fault would fall between two letters.
THINK_SECONDS = (0.0, 0.15)  # a message still unanswered after this many seconds is given up


def minsheng_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("minsheng")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "quart_app", *args]


@contextlib.contextmanager
def serving(*args: str, env: dict[str, str], cwd: Path | None = None):
    """``minsheng serve ARGS`` started and read until it prints where to find the product
    ("民声已启动"), which is yielded; stopped on leaving."""
    proc = subprocess.Popen(
        minsheng_command("serve", *args),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
    )
    try:
        lines = []
        for line in proc.stdout or []:
            lines.append(line)
            if "民声已启动" in line:
                break
        assert lines and "民声已启动" in lines[-1], "".join(lines)
        yield lines[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# Letters for markers. Not q or v: the question log's masking rightly takes "qq…" and "vx…" for a
# QQ or WeChat handle and stars it (a run tag "qqtww" once made a retry storm find no questions).
# Not x: it separates a run's tag from a conversation's.
MARKER_LETTERS = "".join(c for c in string.ascii_lowercase if c not in "qvx")


def tag(n: int) -> str:
    """``n`` in marker letters: markers the question log's masking leaves alone (it masks
    digit runs and contact handles)."""
    letters = MARKER_LETTERS
    out = ""
    while True:
        n, r = divmod(n, len(letters))
        out = letters[r] + out
        if n == 0:
            return out


def address(n: int) -> str:
    """The n-th citizen's own loopback address (127.0.2.1 and on; 127.0.1.x is the prober's)."""
    return f"127.0.{2 + n // 250}.{1 + n % 250}"


def load_average() -> str:
    with contextlib.suppress(OSError):
        return f"{os.getloadavg()[0]:.2f}"
    return "n/a"


# ---------------------------------------------------------------- the stack


@dataclass
class Process:
    name: str
    proc: subprocess.Popen
    log: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def errors(self, limit: int = 3) -> str:
        """The log's ERROR records with their tracebacks (the unexpected errors behind a 500)."""
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        found = []
        for i, line in enumerate(lines):
            if " ERROR " in line and len(found) < limit:
                block = [line]
                for more in lines[i + 1 : i + 40]:
                    if re.match(r"^\d{4}-\d\d-\d\d ", more):
                        break
                    block.append(more)
                found.append("\n".join(block))
        return "\n".join(f"--- {self.name} error ---\n{b}" for b in found)

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """A throwaway PostgreSQL and redis-server, migrated and seeded with the demo city, and the
    product's processes on them."""

    pg: PostgresServer
    redis: RedisServer
    work: Path
    env: dict[str, str]
    servers: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds each step took

    def prepare(self) -> None:
        """``minsheng migrate`` then ``minsheng seed-demo``, in one process: starting one
        costs seconds of imports (aiogram's models)."""
        code = (
            "import sys, quart_app; "
            "sys.exit(quart_app.main(['migrate']) or quart_app.main(['seed-demo']))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"migrate / seed-demo failed:\n{done.stdout}{done.stderr}")

    def start_server(self, env: dict[str, str] | None = None) -> Process:
        port = free_port()
        log = self.work / f"serve-{len(self.servers) + 1}.log"
        env = {**self.env, **(env or {}), "MINSHENG_PORT": str(port)}
        proc = subprocess.Popen(
            minsheng_command("serve"), env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        server = Process(f"serve-{len(self.servers) + 1}", proc, log, port)
        self.servers.append(server)
        return server

    def start_worker(self, env: dict[str, str] | None = None) -> Process:
        log = self.work / f"worker-{len(self.workers) + 1}.log"
        proc = subprocess.Popen(
            minsheng_command("worker"),
            env={**self.env, **(env or {})},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        worker = Process(f"worker-{len(self.workers) + 1}", proc, log)
        self.workers.append(worker)
        return worker

    def wait_ready(self, seconds: float = 120) -> None:
        """Every server answers a citizen's chat message (the knowledge index is built in the
        background at start)."""
        deadline = time.monotonic() + seconds
        for server in self.servers:
            while True:
                if server.proc.poll() is not None:
                    raise RuntimeError(f"{server.name} exited\n{server.tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    r = httpx.post(
                        f"{server.url}/api/chat",
                        json={"session": secrets.token_hex(12), "text": "你好"},
                        timeout=5,
                    )
                    if r.status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server.name} not ready\n{server.tail()}")
                time.sleep(0.1)

    def phases_text(self) -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in self.phases.items())

    def dead_processes(self) -> list[str]:
        return [p.name for p in self.servers + self.workers if p.proc.poll() is not None]

    def tails(self) -> str:
        processes = self.servers + self.workers
        return "\n".join([*(p.errors() for p in processes), *(p.tail(15) for p in processes)])

    def start(self, *, servers: int = 1, workers: int = 0, env: dict | None = None) -> Stack:
        """The product's processes on this stack, configured as an operator would: through the
        ``MINSHENG_*`` environment."""
        t0 = time.monotonic()
        for _ in range(servers):
            self.start_server(env)
        for _ in range(workers):
            self.start_worker(env)
        self.wait_ready()
        self.phases["product processes ready in"] = time.monotonic() - t0
        return self

    def keep_logs(self) -> None:
        """The processes' logs under test-artifacts/probe-logs/ (the work directory goes)."""
        keep = ARTIFACTS / "probe-logs"
        keep.mkdir(parents=True, exist_ok=True)
        for p in self.servers + self.workers:
            with contextlib.suppress(OSError):
                shutil.copy(p.log, keep / f"{self.work.name}-{p.log.name}")

    def stop_processes(self) -> None:
        for p in self.servers + self.workers:
            if p.proc.poll() is None:
                p.proc.terminate()
        for p in self.servers + self.workers:
            try:
                p.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait(timeout=5)
        self.keep_logs()
        self.servers, self.workers = [], []

    def close(self) -> None:
        self.stop_processes()
        self.redis.kill()
        self.pg.destroy()
        shutil.rmtree(self.work, ignore_errors=True)


def open_base(*, skip: bool = True) -> Stack:
    """A PostgreSQL cluster and a redis-server of the probe's own, migrated and seeded with the
    demo city (``minsheng migrate``, ``minsheng seed-demo``); no product process yet."""
    t0 = time.monotonic()
    if not skip and not shutil.which("redis-server"):
        raise RuntimeError("redis-server not installed (apt install redis-server)")
    redis = RedisServer().start()
    try:
        pg = PostgresServer(skip=skip).start()
    except BaseException:
        redis.kill()
        raise
    stack = Stack(
        pg=pg,
        redis=redis,
        work=Path(tempfile.mkdtemp(prefix="minsheng-probe-")),
        env={
            **os.environ,
            "MINSHENG_DATABASE_URL": pg.url,
            "MINSHENG_REDIS_URL": redis.url,
            "MINSHENG_HOST": "127.0.0.1",
            "MINSHENG_COOKIE_SECURE": "false",
            "MINSHENG_SECRET_KEY": secrets.token_hex(16),
            "MINSHENG_FILING_FINAL_UNIT_CODE": "QY-BGS",
            "MINSHENG_WORKER_HEARTBEAT_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        },
    )
    try:
        stack.phases["PostgreSQL and Redis up in"] = time.monotonic() - t0
        stack.prepare()
        stack.phases["migrated and seeded in"] = (
            time.monotonic() - t0 - stack.phases["PostgreSQL and Redis up in"]
        )
    except BaseException:
        stack.close()
        raise
    return stack


def open_stack(
    *, servers: int = 1, workers: int = 0, env: dict[str, str] | None = None, skip: bool = True
) -> Stack:
    stack = open_base(skip=skip)
    try:
        return stack.start(servers=servers, workers=workers, env=env)
    except BaseException:
        stack.close()
        raise


async def letters_with(stack: Stack, marker: str) -> list[dict]:
    """The stored letters whose content carries ``marker``, read straight from PostgreSQL."""
    import asyncpg

    conn = await asyncpg.connect(stack.pg.url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch(
            "SELECT code, content, idem_key FROM let_letter WHERE content LIKE $1",
            f"%{marker}%",
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def asks_with(stack: Stack, marker: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(stack.pg.url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch("SELECT text FROM kb_ask WHERE text LIKE $1", f"%{marker}%")
    finally:
        await conn.close()
    return [r["text"] for r in rows]


def plain_code(code: str) -> str:
    return code.replace("-", "").upper()


# ---------------------------------------------------------------- citizens


@dataclass
class Tally:
    """What the clients saw."""

    tried: int = 0
    ok: int = 0
    refused_503: int = 0
    refused_429: int = 0
    errors_5xx: int = 0  # 5xx other than 503
    other_4xx: int = 0
    transport_errors: int = 0  # no HTTP answer at all
    bad_refusals: int = 0  # a 503 without Retry-After or the Chinese message
    given_up: int = 0
    samples: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        if len(self.samples) < 10:
            self.samples.append(what[:300])


class GiveUp(Exception):
    pass


async def pause() -> None:
    await asyncio.sleep(RETRY_PAUSE * (0.5 + random.random()))


async def post_chat(
    client: httpx.AsyncClient, url: str, body: dict, tally: Tally, *, retry: bool = True
) -> list[str]:
    """POST /api/chat as the chat page does; a refused or failed request is tried again with
    the same body (same session and message id). Returns the replies' texts."""
    deadline = time.monotonic() + MESSAGE_DEADLINE
    while True:
        tally.tried += 1
        try:
            r = await client.post(f"{url}/api/chat", json=body)
        except httpx.TransportError as err:
            tally.transport_errors += 1
            tally.note(f"transport {type(err).__name__}: {err}")
        else:
            if r.status_code == 200:
                tally.ok += 1
                return [reply["text"] for reply in r.json()["replies"]]
            check_refusal(r, tally)
        if not retry:
            return []
        if time.monotonic() > deadline:
            tally.given_up += 1
            raise GiveUp(body.get("text", ""))
        await pause()


def check_refusal(r: httpx.Response, tally: Tally) -> None:
    if r.status_code == 503:
        tally.refused_503 += 1
        message = ""
        with contextlib.suppress(ValueError, KeyError, TypeError):
            message = r.json()["error"]["message"]
        if not r.headers.get("Retry-After") or "稍后再试" not in message:
            tally.bad_refusals += 1
            tally.note(f"503 {r.text}")
    elif r.status_code == 429:
        tally.refused_429 += 1
    elif r.status_code >= 500:
        tally.errors_5xx += 1
        tally.note(f"{r.status_code} {r.request.url.path} {r.text}")
    else:
        tally.other_4xx += 1
        tally.note(f"{r.status_code} {r.request.url.path} {r.text}")


# A letter through the web chat: what the citizen sends and what the reply must contain for
# the conversation to be where the citizen thinks it is.
LETTER_STEPS = (
    ("留言", "请描述"),
    (None, "您的留言内容"),  # the letter's content
    ("1", "请选择留言类型"),
    ("1", "请发送您的姓名"),
    ("跳过", "手机号"),
    ("跳过", "请确认您的留言"),
    ("1", "跟踪码："),
)
CODE = re.compile(r"跟踪码：(\S+)")


async def file_letter(
    client: httpx.AsyncClient, url: str, content: str, tally: Tally
) -> tuple[str, int]:
    """One citizen leaves one letter through the web chat, in one session. A message the chat
    page failed to deliver is sent again with its message id; when a reply shows that the
    conversation was lost (Redis restarted without its data), the citizen starts the letter
    over. Returns the tracking code and how many times the letter was started over."""
    session = secrets.token_hex(12)
    restarts = 0
    counter = 0
    while True:
        for text, expect in LETTER_STEPS:
            counter += 1
            body = {"session": session, "text": text or content, "message_id": f"m{counter}"}
            await asyncio.sleep(random.uniform(*THINK_SECONDS))
            replies = "\n".join(await post_chat(client, url, body, tally))
            if expect not in replies:
                break
        else:
            return CODE.search(replies).group(1), restarts
        restarts += 1


# httpx loads the CA bundle for every client it makes unless given a context: tens of
# milliseconds that would stall every citizen at once.
_TLS = ssl.create_default_context()


def local_client(local_address: str, timeout: float = 15.0) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=local_address, verify=_TLS)
    return httpx.AsyncClient(transport=transport, timeout=timeout, verify=_TLS)


def citizen_client(n: int, timeout: float = 15.0) -> httpx.AsyncClient:
    return local_client(address(n), timeout)


# ---------------------------------------------------------------- the fault probe


@dataclass
class FaultFigures:
    citizens: int = 0
    seconds: float = 0.0
    tally: Tally = field(default_factory=Tally)
    acknowledged: dict[str, str] = field(default_factory=dict)  # marker -> tracking code
    restarts: int = 0  # letters started over after Redis lost the conversation
    stored: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, not in the database
    duplicates: int = 0  # letters beyond one per letter the citizen meant to write
    unacknowledged: int = 0  # stored, but the citizen never saw its code
    redis_recovery: float = float("inf")
    pg_recovery: float = float("inf")
    failures: list[str] = field(default_factory=list)  # the probe's citizens that crashed
    notes: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        t = self.tally
        return [
            f"citizens (concurrent)         {self.citizens}",
            f"seconds                       {self.seconds:.1f}",
            f"requests tried                {t.tried}",
            f"answered 200                  {t.ok}",
            f"refused 503 / 429             {t.refused_503} / {t.refused_429}",
            f"5xx other than 503            {t.errors_5xx}",
            f"503 without message/Retry-After {t.bad_refusals}",
            f"other 4xx                     {t.other_4xx}",
            f"no HTTP answer                {t.transport_errors}",
            f"messages given up             {t.given_up}",
            f"letters acknowledged          {len(self.acknowledged)}",
            f"letters stored                {self.stored}",
            f"acknowledged, not stored      {len(self.lost)}",
            f"stored, never acknowledged    {self.unacknowledged}",
            f"duplicate letters             {self.duplicates}",
            f"letters started over          {self.restarts}",
            f"recovery after Redis kill -9  {self.redis_recovery:.2f} s",
            f"recovery after PG restart     {self.pg_recovery:.2f} s",
            f"processes that died           {', '.join(self.dead) or 'none'}",
            f"load average (1 min)          {load_average()}",
        ] + [f"note: {s}" for s in t.samples + self.failures + self.notes]


async def until(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {seconds} s for {what}")
        await asyncio.sleep(0.02)


async def recovery_seconds(
    url: str, code: str, since: float, notes: list[str], limit: float = 30.0
) -> float:
    """Seconds from ``since`` (the server back) until the product answers normally again: a
    citizen's chat message (Redis) and a status look-up by tracking code (the database) both
    answered 200. Each try comes from another prober address (127.0.1.x) so that the
    per-address limits do not answer for the product."""
    n = 0
    while True:
        n += 1
        async with local_client(f"127.0.1.{1 + n % 250}", 5) as client:
            with contextlib.suppress(httpx.TransportError):
                chat = await client.post(
                    f"{url}/api/chat", json={"session": secrets.token_hex(12), "text": "你好"}
                )
                status = await client.get(f"{url}/api/public/letters/{code}")
                if chat.status_code == 200 and status.status_code == 200:
                    if len(notes) < 8:
                        notes.append(f"recovered after {n} tries, {time.monotonic() - since:.2f} s")
                    return time.monotonic() - since
                if len(notes) < 5:
                    notes.append(
                        f"recovering: chat {chat.status_code}, status {status.status_code}"
                    )
        if time.monotonic() - since > limit:
            return float("inf")
        await asyncio.sleep(0.05)


async def fault_probe(
    stack: Stack,
    *,
    citizens: int = 24,
    progress: int | None = None,
    redis_down_seconds: float = 1.0,
) -> FaultFigures:
    """``citizens`` at once leave letters through the web chat, one after another, while
    redis-server is killed with -9 and restarted (empty), then PostgreSQL is restarted with
    ``pg_ctl restart -m fast``; ``progress`` letters are acknowledged before each fault and
    after the last recovery."""
    progress = progress or max(citizens // 2, 4)
    url = stack.servers[0].url
    run = tag(random.randrange(26**4, 26**5))
    marker = f"探针{run}"
    figures = FaultFigures(citizens=citizens)
    stop = asyncio.Event()
    numbers = iter(range(10**6))

    async def citizen() -> None:
        while not stop.is_set():
            n = next(numbers)
            mark = f"{marker}x{tag(n)}x"
            content = f"{mark}我家小区门口的路灯坏了三个月，晚上出行很不方便，请尽快安排维修"
            async with citizen_client(n) as client:
                code, restarts = await file_letter(client, url, content, figures.tally)
            figures.acknowledged[mark] = code
            figures.restarts += restarts

    started = time.monotonic()
    tasks = [asyncio.ensure_future(citizen()) for _ in range(citizens)]
    try:
        acked = lambda: len(figures.acknowledged)  # noqa: E731
        await until(lambda: acked() >= progress, 60, "letters before the Redis kill")
        known = next(iter(figures.acknowledged.values()))
        await asyncio.sleep(random.uniform(0, 0.3))  # anywhere in the citizens' conversations

        stack.redis.kill()
        await asyncio.sleep(redis_down_seconds)  # how long the outage lasts
        await asyncio.to_thread(stack.redis.start)
        back = time.monotonic()
        figures.redis_recovery = await recovery_seconds(url, known, back, figures.notes)
        mark = acked()
        await until(lambda: acked() >= mark + progress, 60, "letters after Redis came back")

        await asyncio.sleep(random.uniform(0, 0.3))
        await asyncio.to_thread(stack.pg.restart, "fast")
        back = time.monotonic()
        figures.pg_recovery = await recovery_seconds(url, known, back, figures.notes)
        mark = acked()
        await until(lambda: acked() >= mark + progress, 60, "letters after PostgreSQL came back")
    finally:
        stop.set()
        done, pending = await asyncio.wait(tasks, timeout=MESSAGE_DEADLINE + 5)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() and not isinstance(task.exception(), GiveUp):
                figures.failures.append(repr(task.exception()))
    figures.seconds = time.monotonic() - started

    stored = await letters_with(stack, marker)
    figures.stored = len(stored)
    per_letter = Counter(re.search(rf"{marker}x[a-z]+x", r["content"]).group(0) for r in stored)
    figures.duplicates = sum(count - 1 for count in per_letter.values())
    codes = {plain_code(r["code"]) for r in stored}
    figures.lost = [c for c in figures.acknowledged.values() if plain_code(c) not in codes]
    acked_codes = {plain_code(c) for c in figures.acknowledged.values()}
    figures.unacknowledged = len(codes - acked_codes)
    figures.dead = stack.dead_processes()
    return figures


# ---------------------------------------------------------------- the retry storm


class WechatApiStub:
    """WeChat's API (access token, customer-service messages) on loopback: the product's
    late and pushed replies land here, counted per openid."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, data: dict) -> None:
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._json({"access_token": "probe-token", "expires_in": 7200})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = json.loads(self.rfile.read(length) or b"{}")
                stub.sent.append((data.get("touser", ""), json.dumps(data, ensure_ascii=False)))
                self._json({"errcode": 0, "errmsg": "ok"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class StormFigures:
    conversations: int = 0
    messages: int = 0
    copies: int = 0
    seconds: float = 0.0
    tally: Tally = field(default_factory=Tally)
    differing: int = 0  # messages whose deliveries got different replies
    empty: int = 0  # deliveries answered with no reply at all
    off_step: int = 0  # replies that moved the conversation more or less than one step
    acknowledged: int = 0
    letters: int = 0
    without_letter: int = 0
    extra_letters: int = 0
    asks: int = 0
    extra_asks: int = 0
    pushed: int = 0  # customer-service messages (a late reply, or a duplicate one)
    dead: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        t = self.tally
        return [
            f"conversations                 {self.conversations} (web chat and WeChat)",
            f"messages (each sent {self.copies}x)       {self.messages}",
            f"seconds                       {self.seconds:.1f}",
            f"requests tried                {t.tried}",
            f"answered 200                  {t.ok}",
            f"refused 503 / 429             {t.refused_503} / {t.refused_429}",
            f"5xx other than 503            {t.errors_5xx}",
            f"other 4xx                     {t.other_4xx}",
            f"no HTTP answer                {t.transport_errors}",
            f"messages with differing replies {self.differing}",
            f"deliveries answered empty     {self.empty}",
            f"replies off the conversation's step {self.off_step}",
            f"letters acknowledged          {self.acknowledged}",
            f"letters stored                {self.letters}",
            f"conversations without letter  {self.without_letter}",
            f"duplicate letters             {self.extra_letters}",
            f"questions logged / duplicates {self.asks} / {self.extra_asks}",
            f"customer-service pushes       {self.pushed}",
            f"processes that died           {', '.join(self.dead) or 'none'}",
            f"load average (1 min)          {load_average()}",
        ] + [f"note: {s}" for s in t.samples + self.notes]


STORM_STEPS = (
    (None, ""),  # a question the knowledge base cannot answer
    ("留言", "您的留言内容"),  # the question becomes the letter
    ("1", "请选择留言类型"),
    ("1", "请发送您的姓名"),
    ("跳过", "手机号"),
    ("跳过", "请确认您的留言"),
    ("1", "跟踪码："),
)


def wechat_xml(openid: str, msg_id: int, text: str) -> bytes:
    return (
        "<xml><ToUserName><![CDATA[gh_demo]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def wechat_query() -> str:
    ts, nonce = str(int(time.time())), secrets.token_hex(8)
    return f"timestamp={ts}&nonce={nonce}&signature={sign(WECHAT_TOKEN, ts, nonce)}"


async def retry_storm(
    stack: Stack, stub: WechatApiStub, *, conversations: int = 24, copies: int = 3
) -> StormFigures:
    """Half the conversations on the web chat, half on WeChat, all at once: a question, then a
    letter. Every message is delivered ``copies`` times at once (same session and message id,
    same MsgId), the copies spread over the servers; the letter's confirmation is moreover
    tapped twice (a second message id). Then the workers flush the question log."""
    urls = [s.url for s in stack.servers]
    run = tag(random.randrange(26**4, 26**5))
    marker = f"探针{run}"
    figures = StormFigures(conversations=conversations, copies=copies)
    msg_ids = iter(range(random.randrange(10**9, 2 * 10**9), 3 * 10**9))
    tally = figures.tally

    async def web_delivery(client, url, body) -> list[str] | None:
        try:
            return await post_chat(client, url, body, tally)
        except GiveUp:
            return None

    async def wechat_delivery(client, url, query, body) -> list[str] | None:
        deadline = time.monotonic() + MESSAGE_DEADLINE
        while True:
            tally.tried += 1
            try:
                r = await client.post(f"{url}/wechat/demo?{query}", content=body)
            except httpx.TransportError as err:
                tally.transport_errors += 1
                tally.note(f"transport {type(err).__name__}: {err}")
            else:
                if r.status_code == 200:
                    tally.ok += 1
                    return [] if r.text == "success" else [parse_xml(r.content)["Content"]]
                check_refusal(r, tally)
            if time.monotonic() > deadline:
                tally.given_up += 1
                return None
            await pause()

    async def conversation(n: int) -> None:
        mark = f"{marker}x{tag(n)}x"
        question = f"{mark}我家楼下的早餐摊每天凌晨四点就开始吵闹，能不能管一管"
        on_wechat = n % 2 == 1
        session, openid = secrets.token_hex(12), f"o{secrets.token_hex(10)}"
        async with citizen_client(n, timeout=30) as client:
            for i, (text, expect) in enumerate(STORM_STEPS):
                text = text or question
                confirm = i == len(STORM_STEPS) - 1
                if on_wechat:
                    body, query = wechat_xml(openid, next(msg_ids), text), wechat_query()
                    calls = [
                        wechat_delivery(client, urls[c % len(urls)], query, body)
                        for c in range(copies)
                    ]
                    if confirm:  # tapped twice: a second message
                        second = wechat_xml(openid, next(msg_ids), text)
                        calls.append(
                            wechat_delivery(client, urls[1 % len(urls)], wechat_query(), second)
                        )
                else:
                    body = {"session": session, "text": text, "message_id": f"{mark}{i}"}
                    calls = [web_delivery(client, urls[c % len(urls)], body) for c in range(copies)]
                    if confirm:
                        second = {**body, "message_id": f"{mark}{i}again"}
                        calls.append(web_delivery(client, urls[1 % len(urls)], second))
                answers = await asyncio.gather(*calls)
                figures.messages += 1 + (1 if confirm else 0)
                same = [tuple(a) for a in answers[:copies] if a is not None]
                figures.empty += sum(1 for a in answers if a == [])
                if len(set(same)) > 1:
                    figures.differing += 1
                    figures.notes.append(f"differing replies to {text[:12]}: {set(same)}"[:300])
                first = "\n".join(same[0]) if same else ""
                if confirm:
                    # Either tap may be the one that submits; the other then finds the letter
                    # (both at once) or a finished conversation.
                    first = "\n".join("\n".join(a) for a in answers if a)
                if expect not in first:
                    figures.off_step += 1
                    figures.notes.append(f"step {i} expected {expect!r}, got {first[:80]!r}")
                    return
                if confirm:
                    figures.acknowledged += 1

    started = time.monotonic()
    await asyncio.gather(*(conversation(n) for n in range(conversations)))
    figures.seconds = time.monotonic() - started

    stored = await letters_with(stack, marker)
    figures.letters = len(stored)
    per = Counter(re.search(rf"{marker}x[a-z]+x", r["content"]).group(0) for r in stored)
    figures.without_letter = conversations - len(per)
    figures.extra_letters = sum(c - 1 for c in per.values())

    # The question log: queued in Redis by the servers, written by whichever worker flushes.
    deadline = time.monotonic() + 30
    while True:
        asks = await asks_with(stack, marker)
        if len(asks) >= conversations or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    per_ask = Counter(re.search(rf"{marker}x[a-z]+x", a).group(0) for a in asks)
    figures.asks = len(per_ask)
    figures.extra_asks = sum(c - 1 for c in per_ask.values())
    figures.pushed = len(stub.sent)
    figures.dead = stack.dead_processes()
    return figures


def write_figures(name: str, title: str, lines: list[str]) -> str:
    text = "\n".join([title, *lines]) + "\n"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_text(text, encoding="utf-8")
    print("\n" + text)
    return text
