"""One PostgreSQL cluster and one redis-server for the probes of a run, migrated and seeded once
(each probe's letters carry a marker of their own); each probe starts its own product
processes on them."""

from __future__ import annotations

import pytest

from tests.probes.harness import WechatApiStub, open_base


@pytest.fixture(scope="session")
def probe_base():
    stack = open_base()
    yield stack
    stack.close()


@pytest.fixture
def on_base(probe_base):
    """The base with no product process left over, and its servers running again whatever a
    probe did to them."""
    yield probe_base
    probe_base.stop_processes()
    if probe_base.redis.proc is None:
        probe_base.redis.start()


@pytest.fixture
def stub():
    """WeChat's API on loopback: the product's late and pushed replies land here."""
    s = WechatApiStub()
    yield s
    s.close()
