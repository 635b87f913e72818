"""Configuration: environment variables read once, in the app factory, into one object."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ATTACHMENT_TYPES = ("pdf", "png", "jpeg", "webp", "xlsx", "xls", "csv", "docx", "txt", "zip")


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _secret_key(instance_dir: Path) -> str:
    """The embedded default generates a key once and keeps it under instance/ (never in git)."""
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class Settings:
    instance_dir: Path = ROOT / "instance"
    database_url: str = ""
    broker_url: str = ""
    secret_key: str = ""
    processes_dir: Path = ROOT / "processes"
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh-CN"
    script_time_limit: float = 1.0
    token_max_age: int = 12 * 3600
    # Behind HTTPS in production set SECURE_COOKIES=1; the embedded default serves plain http://127.0.0.1.
    secure_cookies: bool = False
    testing: bool = False
    # Attachments (engine/attachments): size limit and the kinds accepted (detected from content).
    attachment_max_bytes: int = 20 * 1024 * 1024
    attachment_types: tuple[str, ...] = ATTACHMENT_TYPES
    # E-mail (engine/notify): off while smtp_host is empty. smtp_ssl = implicit TLS (port 465);
    # otherwise STARTTLS is required unless smtp_starttls is off (a local relay on port 25).
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_timeout: float = 30.0
    email_max_age_hours: int = 72  # older unsent notifications are not e-mailed any more
    base_url: str = "http://127.0.0.1:5000"  # links in e-mails
    cockpit_recipients: tuple[str, ...] = ()  # who gets the monthly cockpit report (e-mail addresses)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, overrides: dict[str, Any] | None = None) -> Settings:
        env = os.environ
        instance_dir = Path(env.get("INSTANCE_DIR") or ROOT / "instance").resolve()
        s = cls(
            instance_dir=instance_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'approvals.db'}",
            broker_url=env.get("CELERY_BROKER_URL") or "filesystem://",
            secret_key=env.get("SECRET_KEY", ""),
            processes_dir=Path(env.get("PROCESSES_DIR") or ROOT / "processes").resolve(),
            timezone=env.get("TIMEZONE", "Asia/Shanghai"),
            default_locale=env.get("DEFAULT_LOCALE", "zh-CN"),
            script_time_limit=float(env.get("SCRIPT_TIME_LIMIT", "1.0")),
            secure_cookies=env.get("SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
            attachment_max_bytes=int(env.get("ATTACHMENT_MAX_BYTES") or 20 * 1024 * 1024),
            attachment_types=tuple(t.strip().lower() for t in env["ATTACHMENT_TYPES"].split(",") if t.strip())
            if env.get("ATTACHMENT_TYPES") else ATTACHMENT_TYPES,
            smtp_host=env.get("SMTP_HOST", "").strip(),
            smtp_port=int(env.get("SMTP_PORT") or 0),
            smtp_user=env.get("SMTP_USER", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_from=env.get("SMTP_FROM", ""),
            smtp_starttls=_flag(env.get("SMTP_STARTTLS"), True),
            smtp_ssl=_flag(env.get("SMTP_SSL"), False),
            smtp_timeout=float(env.get("SMTP_TIMEOUT") or 30),
            email_max_age_hours=int(env.get("EMAIL_MAX_AGE_HOURS") or 72),
            base_url=(env.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
            cockpit_recipients=tuple(a.strip() for a in env.get("COCKPIT_RECIPIENTS", "").split(",") if a.strip()),
        )
        known = {f.name for f in fields(cls)}
        over = {k: v for k, v in (overrides or {}).items() if k in known}
        s = replace(s, **over)
        if not s.secret_key:
            s = replace(s, secret_key=_secret_key(s.instance_dir))
        return s
