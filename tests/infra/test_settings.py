"""Settings come from MINSHENG_* environment variables and are validated."""

import pytest
from pydantic import ValidationError

from infra.settings import Settings


def test_reads_minsheng_environment(monkeypatch):
    monkeypatch.setenv("MINSHENG_DATABASE_URL", "postgres://u@db/minsheng")
    monkeypatch.setenv("MINSHENG_PORT", "9100")
    monkeypatch.setenv("MINSHENG_COOKIE_SECURE", "false")
    monkeypatch.setenv("MINSHENG_NOTIFY_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("MINSHENG_ENV", "production")
    monkeypatch.setenv("PORT", "1")  # not prefixed: ignored
    s = Settings()
    assert s.database_url == "postgres://u@db/minsheng"
    assert s.port == 9100
    assert s.cookie_secure is False
    assert s.notify_max_attempts == 7
    assert s.is_production


def test_audit_retention_below_a_year_is_refused(monkeypatch):
    assert Settings(audit_retention_days=365).audit_retention_days == 365
    with pytest.raises(ValidationError):
        Settings(audit_retention_days=364)
    monkeypatch.setenv("MINSHENG_AUDIT_RETENTION_DAYS", "30")
    with pytest.raises(ValidationError):
        Settings()


def test_uses_fake_redis_only_without_a_url(monkeypatch):
    monkeypatch.delenv("MINSHENG_REDIS_URL", raising=False)
    assert Settings().uses_fake_redis
    assert not Settings(redis_url="redis://127.0.0.1:6379/0").uses_fake_redis
    monkeypatch.setenv("MINSHENG_REDIS_URL", "redis://cache:6379/1")
    assert not Settings().uses_fake_redis
