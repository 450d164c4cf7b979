"""bench/publish_bench.py at a small size: two worker processes against the fake platform
publish every item once. The figures themselves are the bench's to print, not asserted."""

from __future__ import annotations

from bench import publish_bench
from tests.conftest import need_server


def test_a_small_run_publishes_every_item_once():
    server = need_server(
        "PostgreSQL",
        "TEST_DATABASE_URL",
        "apt install postgresql; postgres://user:pass@127.0.0.1:5432/postgres",
    )
    argv = ["--database-url", server, "--items", "200", "--accounts", "40", "--workers", "2"]
    argv += ["--batch", "10", "--tick", "0.2", "--latency", "0.01", "--timeout", "60"]
    argv += ["--skip-feeds"]
    _, f = publish_bench.run(argv)
    assert f["published"] == 200 and f["statuses"] == {"published": 200}
    assert f["platform_messages"] == 200 and f["platform_duplicates"] == 0
    assert f["posts"] == 200 and f["post_duplicates"] == 0
    assert f["drafts_published"] == 200 and f["events"] == 200
    # Both took a share (SKIP LOCKED): what was not doubled could have been.
    assert sum(w["published"] for w in f["workers"]) == 200
    assert all(w["published"] for w in f["workers"])
