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
    # A command on a failed connection is retried up to this many times on a new one (50 ms,
    # 100 ms, … apart); connecting and each reply wait at most the timeout, and retries stop
    # once twice the timeout has passed.
    redis_retries: int = Field(default=3, ge=0)
    redis_timeout_seconds: float = 1.0
    # PostgreSQL: opening a connection, and one statement of a web request (the worker's jobs
    # scan whole tables and get worker_command_timeout_seconds).
    database_connect_timeout_seconds: float = 2.0
    database_command_timeout_seconds: float = 10.0
    worker_command_timeout_seconds: float = 600.0
    # The worker's heartbeat in Redis, read by /healthz (missing after 3 beats).
    worker_heartbeat_seconds: float = 10.0
    # While Redis or the database is down the worker tries again after 1 s, 2 s, 4 s, … this.
    worker_backoff_max_seconds: float = 60.0

    # Serving
    host: str = "127.0.0.1"
    port: int = 8000
    # Web processes sharing the addresses (hypercorn workers); more than one needs a real Redis.
    # About one per core, with the worker process beside them (README, deployment).
    web_workers: int = Field(default=1, ge=1, le=64)
    # Proxies in front whose X-Forwarded-For is believed (nginx in front: 1); 0: none, the
    # connection's address is the client's.
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)
    # Console on its own address (004 §10(三)); empty: same server as the public endpoints.
    console_host: str = ""
    console_port: int = 8001
    # Where citizens reach the public pages (https://host, no trailing slash), for links sent by
    # SMS; empty: http://host:port.
    public_base_url: str = ""
    secret_key: str = "dev-only-change-me"
    cookie_secure: bool = True
    session_hours: int = 12
    env: str = "development"  # development | production

    # Staff security
    login_max_failures: int = 5
    login_lock_minutes: int = 15  # how long a lock after too many failures lasts; 0: until unlocked
    login_ip_per_minute: int = 30  # password tries per client address and minute, then 429
    login_user_per_minute: int = 10  # password tries per username and minute, then 429
    second_factor_ttl_seconds: int = 300
    sms_code_resend_seconds: int = 60
    audit_retention_days: int = Field(default=365, ge=365)
    totp_issuer: str = "民声"
    api_token_days: int = Field(default=90, ge=1)  # a new API token's lifetime (at most 365 days)

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

    # Letters (RULES.md section 2)
    letter_days: int = 15  # calendar days to reply, counted from acceptance (001 §26)
    letter_disclosure_working_days: int = 15  # 依申请公开 (001 §16)
    letter_site_error_working_days: int = 2  # 网站找错 (004 §12(三))
    letter_extension_max_days: int = 15
    letter_repeat_window_days: int = 180
    letter_repeat_similarity: int = Field(default=75, ge=1, le=100)
    letter_petitions_unit_code: str = "QY-XFJ"  # 信访局: complaints go through it (001 §24)
    letter_mayor_unit_code: str = "QY-BGS"  # whose leaders read the mayor's mailbox (001 §22)
    letter_intake_unit_code: str = ""  # screens the other kinds; empty: the petitions office
    letter_review_kinds: str = "*"  # kinds whose replies need review: comma list, * all, empty none
    letter_reply_templates: dict[str, str] = Field(default_factory=dict)  # kind -> text
    public_status_rate_limit: int = 30  # status look-ups per client address and window
    public_status_rate_window_seconds: int = 600
    # Look-ups through one WeChat / Telegram account (all its citizens together) per window.
    public_status_account_rate_limit: int = 300
    # Anonymous state-changing requests refused (bad body, bad CSRF, unknown user …) per client
    # address and window before that address is answered 429 up front (org/security_log.py).
    refusal_limit: int = 120  # 0: never
    refusal_window_seconds: int = 60

    # The citizens' bot (issue 6)
    wechat_api_base: str = "https://api.weixin.qq.com"
    telegram_api_base: str = "https://api.telegram.org"
    webhook_max_bytes: int = 65536  # larger platform posts answer 413
    # WeChat callbacks whose signed timestamp is further off than this are refused, and their
    # (timestamp, nonce) pairs are remembered that long so that a replay is refused.
    wechat_timestamp_skew_seconds: int = 300
    # WeChat waits 5 s for a passive reply; past this the bot answers with an interim message
    # and sends the rest through the customer-service API.
    passive_reply_seconds: float = 4.0
    bot_state_minutes: int = 30  # a conversation's state expires after this much silence
    account_cache_seconds: float = 10.0  # platform credentials are re-read after this long
    bot_rate_per_minute: int = 20  # messages per user per minute before the bot asks to slow down

    @property
    def uses_fake_redis(self) -> bool:
        return not self.redis_url

    @property
    def public_url(self) -> str:
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def is_production(self) -> bool:
        return self.env == "production"
