"""Celery entry point: `celery -A worker worker --beat`.

The Celery app is made by api.background.celery_init_app (the web app enqueues with it too);
this module defines the tasks and the beat schedule's targets."""
from __future__ import annotations

from celery import shared_task
from flask import current_app

from api import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]


@shared_task(name="worker.poll_timers", ignore_result=True)
def poll_timers() -> int:
    from engine.instances.timers import poll_timers as poll

    return poll(current_app.extensions["db_sessions"], current_app.extensions["engine_ctx"])


@shared_task(name="worker.scan_sla", ignore_result=True)
def scan_sla() -> int:
    from engine.instances.sla import scan_sla as scan

    return scan(current_app.extensions["db_sessions"], current_app.extensions["engine_ctx"])


@shared_task(name="worker.run_schedules", ignore_result=True)
def run_schedules() -> int:
    from engine.instances.schedules import run_schedules as run

    return run(current_app.extensions["db_sessions"], current_app.extensions["engine_ctx"])


@shared_task(name="worker.send_emails", ignore_result=True)
def send_emails() -> int:
    """E-mail unsent notifications (engine/notify/outbox.py); nothing while SMTP is not configured."""
    from engine.notify.outbox import send_pending

    return send_pending(current_app.extensions["db_sessions"], current_app.extensions["settings"]).sent


@shared_task(name="worker.render_record", ignore_result=True, autoretry_for=(Exception,), retry_backoff=True,
             max_retries=5)
def render_record(instance_id: int) -> str | None:
    """Render, sign and store the record of a finished request (idempotent: the same chain head
    gives the stored file)."""
    import os

    from engine.instances.models import ProcessInstance
    from reports.pki import SigningConfig
    from reports.service import signed_record

    settings = current_app.extensions["settings"]
    signing = SigningConfig.from_env(os.environ, settings.instance_dir)
    with current_app.extensions["db_sessions"]() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            return None
        stored = signed_record(session, current_app.extensions["engine_ctx"], instance, signing,
                               settings.instance_dir, timezone=settings.timezone)
        session.commit()
        return stored.row.sha256


@shared_task(name="worker.build_export", ignore_result=True, autoretry_for=(Exception,), retry_backoff=True,
             max_retries=3)
def build_export(export_id: int) -> str | None:
    """Build a records ZIP (reports/export.py); progress is committed after every record."""
    import os

    from reports.export import build_export as build
    from reports.pki import SigningConfig

    settings = current_app.extensions["settings"]
    row = build(current_app.extensions["db_sessions"], current_app.extensions["engine_ctx"],
                SigningConfig.from_env(os.environ, settings.instance_dir), settings.instance_dir, export_id,
                timezone=settings.timezone)
    return row.sha256 if row is not None else None


@shared_task(name="worker.mail_cockpit", ignore_result=True, autoretry_for=(Exception,), retry_backoff=True,
             max_retries=5)
def mail_cockpit() -> str | None:
    """E-mail last month's cockpit report to COCKPIT_RECIPIENTS unless it went out already."""
    from reports.cockpit_mail import mail_cockpit as mail

    return mail(current_app.extensions["db_sessions"], current_app.extensions["settings"])


@shared_task(name="worker.renew_archives", ignore_result=True)
def renew_archives() -> int:
    """Renew the archive time-stamp of finished records due for it (reports/archive.py)."""
    import os

    from reports.archive import renew_archives as renew
    from reports.pki import SigningConfig

    settings = current_app.extensions["settings"]
    return renew(current_app.extensions["db_sessions"], SigningConfig.from_env(os.environ, settings.instance_dir),
                 settings.instance_dir)


@shared_task(name="worker.sweep_uploads", ignore_result=True)
def sweep_uploads() -> int:
    """Temporary upload files left behind by killed web processes (older than 6 hours)."""
    from engine.attachments.store import store_root, sweep_tmp

    return sweep_tmp(store_root(current_app.extensions["settings"].instance_dir))
