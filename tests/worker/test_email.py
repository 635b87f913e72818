"""E-mail: notifications go out through a real SMTP server (aiosmtpd in its own process), once
each, in Chinese with English below; refusals, outages and users without an address are handled."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import mailbox
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from engine.db import utcnow

SMTP_SINK = '''
import mailbox, sys, threading
from aiosmtpd.controller import Controller

class Handler:
    """Keeps what arrives in a Maildir; refuses bounce* (550) and later* (451) recipients."""
    def __init__(self, path):
        self.box = mailbox.Maildir(path, create=True)
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("later"):
            return "451 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"
    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.original_content)
        return "250 Message accepted"

controller = Controller(Handler(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
threading.Event().wait()
'''
BASE = "https://approvals.example.com"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    folder = tmp_path_factory.mktemp("smtp")
    script, box = folder / "sink.py", folder / "Maildir"
    script.write_text(SMTP_SINK)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(script), str(port), str(box)], stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the SMTP test server did not start") from None
                time.sleep(0.1)
        yield port, box
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def inbox(smtp_server: tuple[int, Path]) -> mailbox.Maildir:
    box = mailbox.Maildir(smtp_server[1], create=True)
    box.clear()
    return box


def _received(box: mailbox.Maildir) -> list[EmailMessage]:
    out = [email.message_from_bytes(box.get_bytes(k), policy=email.policy.default) for k in box.keys()]
    return sorted(out, key=lambda m: str(m["Message-ID"]))  # type: ignore[misc]


def _settings(app: Any, port: int, **changes: Any) -> Any:
    return replace(app.extensions["settings"], smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                   smtp_from="新能源审批平台 <noreply@approvals.example.com>", smtp_timeout=5.0, base_url=BASE,
                   **changes)


def _notify(app: Any, username: str, *, email_address: str | None = None, created_at: dt.datetime | None = None,
            kind: str = "task_assigned", title: str = "新待办：区域经理审批", task_id: int | None = 42,
            instance_id: int | None = 7) -> int:
    from engine.instances.models import Notification
    from engine.org.service import get_user_by_username

    with app.extensions["db_sessions"]() as s:
        user = get_user_by_username(s, username)
        if email_address is not None:
            user.email = email_address
        n = Notification(user_id=user.id, kind=kind, title=title, body="东区光伏电站 2026 年 1 月结算",
                         task_id=task_id, instance_id=instance_id, created_at=created_at or utcnow())
        s.add(n)
        s.commit()
        return int(n.id)


def _state(app: Any, nid: int) -> tuple[Any, Any]:
    from engine.instances.models import Notification
    from engine.notify.models import NotificationEmail

    with app.extensions["db_sessions"]() as s:
        return s.get(Notification, nid), s.get(NotificationEmail, nid)


def _run(app: Any, settings: Any, **kw: Any) -> Any:
    from engine.notify.outbox import send_pending

    return send_pending(app.extensions["db_sessions"], settings, **kw)


def test_a_notification_is_mailed_once_in_chinese_and_english(app: Any, org: Any, smtp_server: Any,
                                                              inbox: mailbox.Maildir) -> None:
    settings = _settings(app, smtp_server[0])
    nid = _notify(app, "east_manager")
    cc = _notify(app, "east_ops", kind="cc", title="抄送：东区结算")
    assert _run(app, settings).sent == 2
    assert _run(app, settings).sent == 0  # the job running again sends nothing twice
    mails = _received(inbox)
    assert len(mails) == 2
    by_to = {str(m["To"]): m for m in mails}
    m = next(v for k, v in by_to.items() if "east_manager@demo.example.com" in k)
    assert str(m["Subject"]) == "新待办：区域经理审批 | New task"
    assert "陈建华" in str(m["To"])
    assert "新能源审批平台" in str(m["From"]) and "noreply@approvals.example.com" in str(m["From"])
    assert m["Message-ID"] == f"<notification-{nid}.{int(_state(app, nid)[0].created_at.timestamp())}@approvals.example.com>"
    text = m.get_body(("plain",)).get_content()
    html_part = m.get_body(("html",)).get_content()
    assert m.get_body(("plain",))["Content-Type"].params["charset"] == "utf-8"
    assert text.index("陈建华，您好") < text.index("Hello 陈建华") and "东区光伏电站 2026 年 1 月结算" in text
    assert f"打开：{BASE}/tasks/42" in text and f"Open: {BASE}/tasks/42" in text
    assert f'href="{BASE}/tasks/42"' in html_part and "新待办：区域经理审批" in html_part
    # a CC is about the request, not a task of the reader's
    m2 = next(v for k, v in by_to.items() if "east_ops@" in k)
    assert f"{BASE}/requests/7" in m2.get_body(("plain",)).get_content()
    note, row = _state(app, nid)
    assert note.emailed_at is not None and row.status == "sent" and row.attempts == 1
    assert row.message_id == m["Message-ID"]
    assert _state(app, cc)[0].emailed_at is not None


def test_nothing_is_sent_without_smtp(app: Any, org: Any, smtp_server: Any, inbox: mailbox.Maildir) -> None:
    nid = _notify(app, "east_manager")
    result = _run(app, replace(app.extensions["settings"], smtp_host=""))
    assert result.sent == 0 and _received(inbox) == []
    note, row = _state(app, nid)
    assert note.emailed_at is None and row is None  # untouched: sent once SMTP is configured
    assert _run(app, _settings(app, smtp_server[0])).sent == 1


def test_users_without_an_address_are_skipped_not_retried(app: Any, org: Any, smtp_server: Any,
                                                          inbox: mailbox.Maildir) -> None:
    settings = _settings(app, smtp_server[0])
    nid = _notify(app, "east_planner", email_address="")
    r = _run(app, settings)
    assert (r.sent, r.skipped) == (0, 1)
    note, row = _state(app, nid)
    assert note.emailed_at is not None and row.status == "skipped" and row.last_error == "no e-mail address"
    later = utcnow() + dt.timedelta(hours=2)
    assert _run(app, settings, clock=lambda: later).skipped == 0
    assert _received(inbox) == []


def test_old_notifications_expire_instead_of_being_mailed(app: Any, org: Any, smtp_server: Any,
                                                          inbox: mailbox.Maildir) -> None:
    nid = _notify(app, "east_manager", created_at=utcnow() - dt.timedelta(days=4))
    r = _run(app, _settings(app, smtp_server[0]))
    assert (r.sent, r.expired) == (0, 1) and _received(inbox) == []
    assert _state(app, nid)[1].status == "expired"


def test_a_temporary_refusal_is_retried_with_backoff_and_sent_once(app: Any, org: Any, smtp_server: Any,
                                                                   inbox: mailbox.Maildir) -> None:
    from engine.org.service import get_user_by_username

    settings = _settings(app, smtp_server[0])
    nid = _notify(app, "east_manager", email_address="later@demo.example.com")
    t0 = utcnow()
    r = _run(app, settings, clock=lambda: t0)
    assert (r.sent, r.retry) == (0, 1)
    note, row = _state(app, nid)
    assert note.emailed_at is None and row.status == "retry" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at == t0 + dt.timedelta(minutes=1)
    assert _run(app, settings, clock=lambda: t0 + dt.timedelta(seconds=30)).retry == 0  # backing off
    assert _run(app, settings, clock=lambda: t0 + dt.timedelta(minutes=2)).retry == 1
    row = _state(app, nid)[1]
    assert row.attempts == 2 and row.next_attempt_at == t0 + dt.timedelta(minutes=4)  # 2 minutes after the 2nd try
    with app.extensions["db_sessions"]() as s:  # the mailbox recovers
        get_user_by_username(s, "east_manager").email = "east_manager@demo.example.com"
        s.commit()
    assert _run(app, settings, clock=lambda: t0 + dt.timedelta(minutes=5)).sent == 1
    assert _run(app, settings, clock=lambda: t0 + dt.timedelta(hours=1)).sent == 0
    assert len(_received(inbox)) == 1
    note, row = _state(app, nid)
    assert note.emailed_at is not None and row.status == "sent" and row.attempts == 3


def test_a_permanent_refusal_fails_for_good(app: Any, org: Any, smtp_server: Any, inbox: mailbox.Maildir) -> None:
    settings = _settings(app, smtp_server[0])
    bad = _notify(app, "east_manager", email_address="bounce@demo.example.com")
    good = _notify(app, "east_ops")
    r = _run(app, settings)
    assert (r.sent, r.failed) == (1, 1)  # one refused recipient does not hold up the others
    note, row = _state(app, bad)
    assert note.emailed_at is not None and row.status == "failed" and "550" in row.last_error
    assert _run(app, settings, clock=lambda: utcnow() + dt.timedelta(hours=1)).failed == 0
    (m,) = _received(inbox)
    assert "east_ops@demo.example.com" in str(m["To"]) and _state(app, good)[0].emailed_at is not None


def test_an_unreachable_server_loses_nothing(app: Any, org: Any, smtp_server: Any, inbox: mailbox.Maildir) -> None:
    ids = [_notify(app, "east_manager"), _notify(app, "east_ops"), _notify(app, "east_planner")]
    t0 = utcnow()
    down = _settings(app, _free_port())  # nobody listens there
    r = _run(app, down, clock=lambda: t0)
    assert (r.sent, r.retry) == (0, 1)  # the first failure stops the batch; the others are given back
    rows = [_state(app, i)[1] for i in ids]
    assert [x.status for x in rows] == ["retry"] * 3 and [x.attempts for x in rows] == [1, 0, 0]
    up = _settings(app, smtp_server[0])
    assert _run(app, up, clock=lambda: t0 + dt.timedelta(minutes=2)).sent == 3
    assert _run(app, up, clock=lambda: t0 + dt.timedelta(minutes=10)).sent == 0
    assert len(_received(inbox)) == 3


def test_two_workers_at_once_send_each_mail_once(app: Any, org: Any, smtp_server: Any,
                                                 inbox: mailbox.Maildir) -> None:
    settings = _settings(app, smtp_server[0])
    ids = [_notify(app, u) for u in ("east_manager", "east_ops", "east_planner", "south_ops", "south_manager") * 4]
    results: list[Any] = []
    workers = [threading.Thread(target=lambda: results.append(_run(app, settings, limit=8))) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    while (more := _run(app, settings)).sent:
        results.append(more)
    assert sum(r.sent for r in results) == len(ids)
    mails = _received(inbox)
    assert len(mails) == len(ids) and len({str(m["Message-ID"]) for m in mails}) == len(ids)


def test_send_mail_with_an_attachment(app: Any, smtp_server: Any, inbox: mailbox.Maildir) -> None:
    from engine.notify.email import send_mail

    pdf = b"%PDF-1.7 monthly report"
    mid = send_mail(_settings(app, smtp_server[0]), ["cfo@demo.example.com", "gm@demo.example.com"],
                    "2026 年 1 月经营月报", "见附件。\n\nSee the attachment.", "<p>见附件。</p>",
                    attachments=[("经营月报-2026-01.pdf", pdf, "application/pdf")])
    (m,) = _received(inbox)
    assert m["Message-ID"] == mid and str(m["Subject"]) == "2026 年 1 月经营月报"
    assert "cfo@demo.example.com" in str(m["To"]) and "gm@demo.example.com" in str(m["To"])
    assert m.get_body(("plain",)).get_content().startswith("见附件。")
    (part,) = list(m.iter_attachments())
    assert part.get_filename() == "经营月报-2026-01.pdf" and part.get_content_type() == "application/pdf"
    assert part.get_content() == pdf


def test_send_mail_refuses_without_configuration(app: Any) -> None:
    from engine.notify.email import EmailNotConfigured, send_mail

    with pytest.raises(EmailNotConfigured):
        send_mail(replace(app.extensions["settings"], smtp_host=""), "a@example.com", "s", "t")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from api.config import Settings

    for k, v in {"SMTP_HOST": "smtp.example.com", "SMTP_PORT": "465", "SMTP_USER": "bot", "SMTP_PASSWORD": "pw",
                 "SMTP_FROM": "审批 <bot@example.com>", "SMTP_SSL": "1", "SMTP_STARTTLS": "0",
                 "BASE_URL": "https://a.example.com/", "ATTACHMENT_MAX_BYTES": "1048576",
                 "ATTACHMENT_TYPES": "pdf, PNG", "INSTANCE_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(k, v)
    s = Settings.from_env()
    assert (s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password, s.smtp_ssl, s.smtp_starttls) == (
        "smtp.example.com", 465, "bot", "pw", True, False)
    assert s.smtp_from == "审批 <bot@example.com>" and s.base_url == "https://a.example.com"
    assert s.attachment_max_bytes == 1048576 and s.attachment_types == ("pdf", "png")


def test_the_monthly_cockpit_report_is_mailed_once(app: Any, org: Any, smtp_server: Any,
                                                   inbox: mailbox.Maildir) -> None:
    from reports.cockpit_mail import mail_cockpit

    settings = _settings(app, smtp_server[0], cockpit_recipients=("ceo@example.com", "cfo@example.com"))
    sessions = app.extensions["db_sessions"]
    on_the_first = dt.datetime(2026, 11, 30, 18, 5, tzinfo=dt.UTC)  # 02:05 on 1 December in Beijing
    assert mail_cockpit(sessions, replace(settings, cockpit_recipients=()), now=on_the_first) is None
    assert mail_cockpit(sessions, settings, now=on_the_first) == "2026-11"
    assert mail_cockpit(sessions, settings, now=on_the_first + dt.timedelta(hours=6)) is None  # once a month
    (msg,) = _received(inbox)
    assert "管理驾驶舱月报 2026-11" in str(msg["Subject"]) and "ceo@example.com" in str(msg["To"])
    (pdf,) = [part for part in msg.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "cockpit-2026-11.pdf" and pdf.get_content().startswith(b"%PDF")
