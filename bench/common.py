"""Small pieces the benches share: weighted picks, query plans, percentiles, memory, the load
average, local ports."""

from __future__ import annotations

import os
import random
import resource
import socket
import time
from collections.abc import Sequence

import asyncpg

from bench.scratch import pg_dsn


def pick(rng: random.Random, mix):
    """A value of ``mix`` ([(value, share), …], shares summing to 1) drawn by its share."""
    x = rng.random()
    for value, share in mix:
        x -= share
        if x < 0:
            return value
    return mix[-1][0]


def query_sql(query) -> tuple[str, list]:
    """The SQL and parameters Tortoise builds for ``query``."""
    query._choose_db_if_not_chosen()
    query._make_query()
    return query.query.get_parameterized_sql()


async def explain_plan(url: str, query) -> str:
    """``query`` run under EXPLAIN (ANALYZE, BUFFERS) by asyncpg, with the same parameters."""
    sql, params = query_sql(query)
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
        return "\n".join(r[0] for r in rows)
    finally:
        await conn.close()


class Quiet:
    """An SMS gateway that sends nothing."""

    async def deliver(self, recipient: str, body: str) -> None:
        return None


def percentile(values: Sequence[float], q: float) -> float:
    """The value at ``q`` (0-1) of the sorted values (nan when there are none)."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def rss_mb() -> float:
    """This process's peak RSS so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> float:
    """The machine's 1-minute load average."""
    return os.getloadavg()[0]


def loads(averages: Sequence[float] | None = None) -> str:
    """The 1-, 5- and 15-minute load averages (now, or those given) as "0.52 0.61 0.70"."""
    return " ".join(f"{x:.2f}" for x in (os.getloadavg() if averages is None else averages))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answering(port: int, seconds: float = 30) -> None:
    """Until something accepts connections on 127.0.0.1:``port`` (OSError after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
