"""Which errors are a dependency's outage (503, retry later) rather than a bug (500)."""

from __future__ import annotations

import asyncpg.exceptions as pg

from infra.outage import outage_of


def test_a_connection_left_mid_operation_by_a_postgres_restart_is_an_outage():
    """Found by the fault probe (tests/probes/): after ``pg_ctl restart -m fast`` the pool's
    reset of a dropped connection raised this, in a task of its own (no cause to follow), and
    the citizen got a 500."""
    err = pg.InternalClientError("cannot switch to state 15; another operation (2) is in progress")
    assert outage_of(err) == "database"


def test_an_ordinary_error_is_not_an_outage():
    assert outage_of(ValueError("bad")) is None
    assert outage_of(pg.UniqueViolationError("duplicate key")) is None
