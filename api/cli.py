"""Flask CLI: init-db, seed-demo, processes deploy|test, audit verify, reports cockpit."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from api.config import Settings


def _settings() -> Settings:
    return current_app.extensions["settings"]


def register_cli(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the database schema (Alembic migrations)."""
        from engine.migrate import upgrade

        url = _settings().database_url
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        upgrade(url)
        click.echo("database is at the newest schema")

    @app.cli.command("seed-demo")
    def seed_demo_cmd() -> None:
        """Create the demo organisation; password from DEMO_PASSWORD (default: demo)."""
        from engine.org.demo import seed_demo

        password = os.environ.get("DEMO_PASSWORD", "demo")
        with current_app.extensions["db_sessions"]() as session, session.begin():
            users = seed_demo(session, password)
        click.echo(f"demo users (password: {'$DEMO_PASSWORD' if 'DEMO_PASSWORD' in os.environ else 'demo'}):")
        for u in users:
            click.echo(f"  {u.username:<18} {u.display_name:<8} {u.region:<6} {u.role}")
        from engine.instances.demo import seed_requests, summary

        with current_app.extensions["db_sessions"]() as session, session.begin():
            made = seed_requests(session, current_app.extensions["engine_ctx"], _settings().processes_dir,
                                 progress=lambda m: click.echo(f"  {m}"))
            counts = summary(session)
        if made:
            click.echo(f"demo requests: {made} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})")
        else:
            click.echo("demo requests: none added (requests exist, or no model is deployed yet)")

    processes = AppGroup("processes", help="Deploy and test the process models.")
    app.cli.add_command(processes)

    @processes.command("deploy")
    @click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
    def deploy_cmd(directory: Path | None) -> None:
        """Deploy every model under DIRECTORY (default: PROCESSES_DIR) as new versions where changed."""
        from engine.deploy.service import deploy_directory

        root = directory or _settings().processes_dir
        with current_app.extensions["db_sessions"]() as session, session.begin():
            report = deploy_directory(session, root, actor="cli")
        for model_id, number in report.deployed:
            click.echo(f"deployed  {model_id} v{number}")
        for model_id in report.unchanged:
            click.echo(f"unchanged {model_id}")
        for model_id, exc in report.failed.items():
            click.echo(f"FAILED    {model_id}: {exc.message}", err=True)
            for e in exc.errors[1:]:
                click.echo(f"          {e.file}:{e.line or ''} {e.element_id or ''} {e.message}", err=True)
        if report.failed:
            sys.exit(1)

    @processes.command("test")
    @click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
    def test_cmd(path: Path | None) -> None:
        """Run the BPMN unit tests (test_*.json) below PATH; ends with 'N passed, M failed'."""
        from engine.testing import run_tests

        root = _settings().processes_dir
        target = (path or root).resolve()
        if not target.is_relative_to(root):
            root = target if target.is_dir() else target.parent

        def show(r: object) -> None:
            from engine.testing import CaseResult

            assert isinstance(r, CaseResult)
            mark = "PASS" if r.passed else "FAIL"
            click.echo(f"{mark} {r.file} :: {r.name}" + (f"\n     {r.message}" if r.message else ""))

        report = run_tests(target, root, progress=show)
        click.echo(f"{report.passed} passed, {report.failed} failed")
        sys.exit(0 if report.failed == 0 and report.passed > 0 else 1)

    org = AppGroup("org", help="Manage the organisation.")
    app.cli.add_command(org)

    @org.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def org_import(file: Path) -> None:
        """Import users (CSV) or regions, groups and users (YAML). All or nothing: every error is
        reported with its row and column, and nothing is written unless the whole file is clean."""
        from engine.org.importer import import_organisation

        fmt = "csv" if file.suffix.lower() == ".csv" else "yaml"
        text = file.read_text(encoding="utf-8-sig")

        def bar(items: Any) -> Any:
            with click.progressbar(list(items), label="importing users") as b:
                yield from b

        with current_app.extensions["db_sessions"]() as session:
            report = import_organisation(session, text, fmt=fmt, actor="cli", progress=bar)
            if report.errors:
                session.rollback()
                for e in report.errors:
                    click.echo(e, err=True)
                click.echo(f"nothing imported: {len(report.errors)} errors", err=True)
                sys.exit(1)
            session.commit()
        click.echo(f"{len(report.created)} created, {len(report.updated)} updated")

    records = AppGroup("records", help="Signed PDF records.")
    app.cli.add_command(records)

    @records.command("renew")
    @click.option("--older-than-days", type=int, default=330, show_default=True,
                  help="renew records whose archive time-stamp is older than this")
    def records_renew(older_than_days: int) -> None:
        """Renew finished records' archive time-stamps (PAdES-LTA) so they stay verifiable
        offline; the worker does this daily for records due."""
        import datetime as dt

        from reports.archive import renew_archives
        from reports.pki import SigningConfig

        settings = _settings()
        n = renew_archives(current_app.extensions["db_sessions"],
                           SigningConfig.from_env(os.environ, settings.instance_dir), settings.instance_dir,
                           renew_after=dt.timedelta(days=older_than_days))
        click.echo(f"renewed {n} record(s)")

    @records.command("verify")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def records_verify(file: Path) -> None:
        """Check a record's signatures (intact, valid, trusted, timestamp) and its chain head
        against the audit log. Exit status 0 only when everything holds."""
        from reports.pki import SigningConfig
        from reports.service import verify_record

        settings = _settings()
        config = SigningConfig.from_env(os.environ, settings.instance_dir)
        with current_app.extensions["db_sessions"]() as session:
            out = verify_record(session, file.read_bytes(), config)
        for sig in out.get("signatures") or []:
            click.echo(f"signature: intact={sig.get('intact')} valid={sig.get('valid')} trusted={sig.get('trusted')} "
                       f"timestamp={(sig.get('timestamp') or {}).get('time')}")
        click.echo(f"level: {out.get('level')}")
        audit = out.get("audit") or {}
        click.echo(f"audit chain: request {audit.get('instance_id')} head matches={audit.get('matches')} "
                   f"chain intact={audit.get('chain_intact')}")
        if not out["ok"]:
            click.echo(f"NOT VALID: {out.get('reason') or audit.get('reason') or out.get('problems')}", err=True)
        click.echo("valid" if out["ok"] else "invalid")
        sys.exit(0 if out["ok"] else 1)

    reports = AppGroup("reports", help="Management reports.")
    app.cli.add_command(reports)

    @reports.command("cockpit")
    @click.option("--month", help="YYYY-MM (default: last month)")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF file to write")
    @click.option("--tz", "tz", default=None, help="time zone of the month (default: TIMEZONE)")
    def reports_cockpit(month: str | None, out: Path, tz: str | None) -> None:
        """The monthly management cockpit report (管理驾驶舱月报) as PDF."""
        from reports.cockpit import month_bounds, previous_month, render_cockpit

        zone = tz or _settings().timezone
        month = month or previous_month(tz=zone)
        try:
            month_bounds(month, zone)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--month") from exc
        with current_app.extensions["db_sessions"]() as session:
            pdf = render_cockpit(session, month, zone)
        out.write_bytes(pdf)
        click.echo(f"cockpit {month}: {out} ({len(pdf) // 1024} KB)")

    audit = AppGroup("audit", help="Check the audit log.")
    app.cli.add_command(audit)

    @audit.command("verify")
    def audit_verify() -> None:
        """Recompute every hash chain; name each changed, missing, inserted or reordered event."""
        with current_app.extensions["db_sessions"]() as session:
            problems, chains = _verify_all(session)
        for p in problems:
            click.echo(f"{p.chain} seq {p.seq}: {p.problem}", err=True)
        click.echo(f"{len(chains)} chains checked, {len(problems)} problems")
        sys.exit(1 if problems else 0)


def _verify_all(session: Any) -> tuple[list[Any], list[str]]:
    from engine.audit.models import AuditEvent, AuditHead
    from engine.audit.service import verify_chain
    from engine.instances.models import ProcessInstance

    heads = {f"instance:{i}": h for i, h in session.execute(select(ProcessInstance.id, ProcessInstance.audit_head))}
    heads.update({c: h for c, h in session.execute(select(AuditHead.chain, AuditHead.hash))})
    chains = sorted(set(heads) | set(session.execute(select(AuditEvent.chain).distinct()).scalars()))
    with click.progressbar(chains, label="verifying chains") as bar:
        problems = [p for chain in bar for p in verify_chain(session, chain, heads.get(chain))]
    return problems, chains
