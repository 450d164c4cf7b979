"""Fault probe: citizens leave letters through the web chat of a ``minsheng serve`` process
while its redis-server is killed with -9 and restarted, then its PostgreSQL is restarted
(``pg_ctl restart -m fast``). Both servers are the probe's own; nothing shared is stopped.

Every letter whose tracking code a citizen saw is in the database, a retried message never
makes a second letter, nothing answers 500 (503 with a Chinese message is the refusal), and
the product answers normally within 5 seconds of each server's return. The figures go to the
output and to test-artifacts/fault-probe.txt."""

from __future__ import annotations

import pytest

from tests.probes.harness import fault_probe, write_figures

RECOVERY_SECONDS = 5.0


@pytest.fixture
def stack(on_base):
    # Citizens here leave letter after letter from loopback: the bot's per-user and the status
    # look-ups' per-address limits would answer for the product.
    limits = {
        "MINSHENG_BOT_RATE_PER_MINUTE": "10000",
        "MINSHENG_PUBLIC_STATUS_RATE_LIMIT": "100000",
    }
    return on_base.start(servers=1, env=limits)


async def test_acknowledged_letters_survive_redis_kill_and_postgres_restart(stack):
    figures = await fault_probe(stack, citizens=16)
    write_figures(
        "fault-probe.txt",
        "Fault probe: redis-server kill -9 and PostgreSQL restart",
        [*figures.lines(), f"setup (seconds)               {stack.phases_text()}"],
    )
    context = "\n".join(figures.lines()) + "\n" + stack.tails()
    t = figures.tally
    assert not figures.lost, context
    assert figures.duplicates == 0, context
    assert t.errors_5xx == 0 and t.bad_refusals == 0 and t.other_4xx == 0, context
    assert t.transport_errors == 0 and t.given_up == 0, context
    assert not figures.failures, context
    assert figures.redis_recovery <= RECOVERY_SECONDS, context
    assert figures.pg_recovery <= RECOVERY_SECONDS, context
    assert not figures.dead, context
