"""All settings in one place, read from ``MINSHENG_*`` environment variables.

Every field is documented in README.md ("Settings"); keep the two in step.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINSHENG_", extra="ignore")

    # Storage
    database_url: str = "sqlite://var/minsheng.db"
    redis_url: str = ""  # empty: the in-process substitute (fakeredis)

    # Serving
    host: str = "127.0.0.1"
    port: int = 8000
    # Console on its own address (004 §10(三)); empty: same server as the public endpoints.
    console_host: str = ""
    console_port: int = 8001
    secret_key: str = "dev-only-change-me"
    cookie_secure: bool = True
    session_hours: int = 12
    env: str = "development"  # development | production

    # Staff security
    login_max_failures: int = 5
    second_factor_ttl_seconds: int = 300
    sms_code_resend_seconds: int = 60
    audit_retention_days: int = Field(default=365, ge=365)
    totp_issuer: str = "民声"

    # Notifications
    sms_gateway_url: str = ""  # empty: the log sender
    sms_gateway_key: str = ""
    notify_max_attempts: int = 5
    notify_retry_seconds: int = 60

    # Time
    timezone: str = "Asia/Shanghai"

    # Accounts (RULES.md section 1)
    # Fernet key for platform credentials; empty: derived from secret_key (development only).
    credentials_key: str = ""
    # Filings are approved by a leader of the applicant's unit and of each unit above it, up to
    # this unit (its code); empty: up to the top of the tree.
    filing_final_unit_code: str = ""
    activity_warn_days: int = 7
    activity_fail_days: int = 14
    activity_zombie_days: int = 90

    @property
    def uses_fake_redis(self) -> bool:
        return not self.redis_url

    @property
    def is_production(self) -> bool:
        return self.env == "production"
