"""Faults on demand for the outage tests: a throwaway redis-server to kill -9 and restart, a
throwaway PostgreSQL cluster to restart, and a TCP proxy in front of a server (the shared
PostgreSQL) that can drop every connection, refuse new ones or swallow traffic without
answering, so nothing shared is ever stopped."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from tests.conftest import IN_CI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """``redis-server`` on a free loopback port, without persistence (a restart loses
    everything, as a real restart of the product's cache-only Redis may)."""

    def __init__(self) -> None:
        if not shutil.which("redis-server"):
            _unavailable("redis-server not installed (apt install redis-server)")
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """kill -9: no goodbye to the clients, whose pooled connections go stale."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message + " - CI must run every test", pytrace=False)
    pytest.skip(message)


def postgres_bin() -> str | None:
    """The newest installed PostgreSQL's binaries (Debian keeps them off the PATH)."""
    found = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.path.exists(f"{d}/initdb") and os.path.exists(f"{d}/pg_ctl")
    ]
    found.sort(key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    return found[-1] if found else None


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb into a temporary directory, a free loopback port,
    trust authentication) that a test may restart or stop; the shared server is never touched.
    PostgreSQL refuses to run as root: as root (CI) the cluster belongs to the ``postgres`` user.
    Durability settings are off: these clusters live for one test."""

    def __init__(self, *, skip: bool = True) -> None:
        bindir = postgres_bin()
        self.as_postgres = os.geteuid() == 0
        if bindir is None:
            message = "PostgreSQL not installed (apt install postgresql: /usr/lib/postgresql/*/bin)"
        elif self.as_postgres and not shutil.which("su"):
            message = "su not available to run PostgreSQL as the postgres user"
        else:
            message = ""
        if message:
            if not skip:
                raise RuntimeError(message)
            _unavailable(message)
        self.bin = bindir
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="minsheng-pg-")
        self.data = f"{self.dir}/data"
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [f"{self.bin}/{args[0]}", *args[1:]]
        if self.as_postgres:
            cmd = ["su", "postgres", "-c", shlex.join(cmd)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}"[-2000:])

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            self.data,
            "-l",
            f"{self.dir}/log",
            "-o",
            options,
            "-w",
            "-t",
            "30",
            action,
            *extra,
        )

    def start(self) -> PostgresServer:
        if not self._initialised:
            self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8")
            self._initialised = True
        self._ctl("start")
        return self

    def restart(self, mode: str = "fast") -> None:
        """Every connection is dropped (``-m fast``: sessions are terminated, transactions
        roll back); returns once the server accepts connections again."""
        self._ctl("restart", "-m", mode)

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        if self._initialised:
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target port. ``down()`` closes every connection and the
    listening socket (the server is gone: connection refused); ``up()`` listens again;
    ``black_hole()`` keeps connections open but passes nothing either way (a hung server or a
    dropped network)."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.target_port = target_port
        self.port = free_port()
        self.swallow = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()

    async def up(self) -> TcpProxy:
        self.swallow = False
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        return self

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()  # RST, as a killed server's kernel answers
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0.05)

    def black_hole(self) -> None:
        self.swallow = True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.swallow:
            return  # accepted, never answered
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        for a, b in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(self._pipe(a, b))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                if self.swallow:
                    continue
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            dst.close()
