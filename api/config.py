"""Configuration: environment variables read once, in the app factory, into one object."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


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
        )
        known = {f.name for f in fields(cls)}
        over = {k: v for k, v in (overrides or {}).items() if k in known}
        s = replace(s, **over)
        if not s.secret_key:
            s = replace(s, secret_key=_secret_key(s.instance_dir))
        return s
