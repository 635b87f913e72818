"""Background work on Celery, in Flask's celery_init_app pattern: tasks run inside the app
context and take only ids. The embedded default uses kombu's filesystem transport under
instance/broker, so no server is needed; production sets CELERY_BROKER_URL to Redis or
RabbitMQ. The web app uses the same Celery app to enqueue work (worker.py defines the tasks)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Celery, Task
from flask import Flask, current_app

log = logging.getLogger(__name__)


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    settings = app.extensions["settings"]
    broker = settings.broker_url
    conf: dict[str, Any] = {
        "broker_url": broker,
        "task_ignore_result": True,
        "task_acks_late": True,  # a worker killed mid-task leaves the message for another
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "timezone": "UTC",
        "beat_schedule": {
            "poll-timers": {"task": "worker.poll_timers", "schedule": 1.0},
            "scan-sla": {"task": "worker.scan_sla", "schedule": 15.0},
            "run-schedules": {"task": "worker.run_schedules", "schedule": 30.0},
            "send-emails": {"task": "worker.send_emails", "schedule": 10.0},  # no-op without SMTP_HOST
            # Last month's cockpit report, once (checked every 6 h: a worker down on the 1st catches up).
            "mail-cockpit": {"task": "worker.mail_cockpit", "schedule": 6 * 3600.0},
            # Signed records' archive time-stamps, renewed before their year-long CRL goes stale.
            "renew-archives": {"task": "worker.renew_archives", "schedule": 24 * 3600.0},
            "sweep-uploads": {"task": "worker.sweep_uploads", "schedule": 3600.0},
        },
        "beat_schedule_filename": str(Path(settings.instance_dir) / "celerybeat-schedule"),
    }
    if broker.startswith("filesystem://"):
        folder = Path(settings.instance_dir) / "broker"
        for sub in ("out", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        conf["broker_transport_options"] = {
            "data_folder_in": str(folder / "out"), "data_folder_out": str(folder / "out"),
            "processed_folder": str(folder / "processed"), "store_processed": False,
            "control_folder": str(folder / "control"),
        }
        conf["worker_enable_remote_control"] = False  # the filesystem transport has no fanout
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(conf)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app



def enqueue(name: str, *args: Any) -> None:
    """Best effort after a commit: the state is already safe, and a broker outage must not turn
    a completed approval into an error (the worker's scans catch up where it matters)."""
    try:
        current_app.extensions["celery"].send_task(name, args=list(args))
    except Exception:
        log.exception("could not enqueue %s%s", name, args)
