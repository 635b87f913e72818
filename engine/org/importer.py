"""Import the organisation from CSV (users) or YAML (regions, groups, users). Every row is
checked first and errors name the row and column; only a clean file is applied, in one
transaction, so nothing is ever half-imported."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.org.admin import UserInput, apply_user, parse_bool, validate_user_input
from engine.org.models import Group
from engine.org.service import ensure_group, ensure_region, get_user_by_username

COLUMNS = ("username", "display_name", "email", "phone", "region", "department", "groups", "manager",
           "password", "locale", "is_active")


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _rows_from_csv(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    unknown = [c for c in (reader.fieldnames or []) if c and c.strip() not in COLUMNS]
    errors = [f"header: unknown column '{c}' (known: {', '.join(COLUMNS)})" for c in unknown]
    if not reader.fieldnames or "username" not in reader.fieldnames:
        errors.append("header: a 'username' column is required")
    rows = []
    for raw in reader:
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        if "groups" in row:
            row["groups"] = [g.strip() for g in row["groups"].replace("|", ";").split(";") if g.strip()]
        rows.append(row)
    return rows, errors


def _user_input(row: dict[str, Any], where: str, errors: list[str]) -> UserInput | None:
    def opt(key: str) -> Any:
        value = row.get(key)
        return None if value in (None, "") else value

    try:
        active = parse_bool(row["is_active"], "is_active") if opt("is_active") is not None else None
    except Exception as exc:
        errors.append(f"{where}, column is_active: {exc}")
        return None
    groups = row.get("groups")
    if groups is not None and not isinstance(groups, list):
        errors.append(f"{where}, column groups: must be a list")
        return None
    return UserInput(
        username=str(row.get("username") or "").strip(), display_name=opt("display_name"), email=opt("email"),
        phone=str(opt("phone")) if opt("phone") is not None else None, region=opt("region"),
        department=opt("department"), locale=opt("locale"), groups=groups if groups else None,
        manager=opt("manager"), is_active=active, password=str(opt("password")) if opt("password") else None,
    )


def import_organisation(session: Session, text: str, *, fmt: str, actor: str,
                        progress: Callable[[Iterable[Any]], Iterable[Any]] = lambda it: it) -> ImportReport:
    """Validate everything, then apply; the caller commits only when `errors` is empty."""
    report = ImportReport()
    if fmt == "csv":
        rows, report.errors = _rows_from_csv(text)
        first_row = 2  # row 1 is the header
        doc: dict[str, Any] = {}
    else:
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            report.errors.append(f"line {mark.line + 1 if mark else '?'}: invalid YAML: {getattr(exc, 'problem', exc)}")
            return report
        if not isinstance(doc, dict):
            report.errors.append("the YAML document must be a mapping with regions, groups and users")
            return report
        rows, first_row = list(doc.get("users") or []), 1
    # Regions and groups first, so that users can refer to them.
    for i, r in enumerate(doc.get("regions") or [], start=1):
        if not isinstance(r, dict) or not r.get("code") or not r.get("name"):
            report.errors.append(f"regions[{i}]: code and name are required")
        else:
            ensure_region(session, str(r["code"]), str(r["name"]), str(r.get("name_en") or ""))
    for i, g in enumerate(doc.get("groups") or [], start=1):
        if not isinstance(g, dict) or not g.get("name"):
            report.errors.append(f"groups[{i}]: name is required")
        else:
            ensure_group(session, str(g["name"]), str(g.get("display_name") or g["name"]), bool(g.get("hq_wide", False)))
    usernames = {str(r.get("username") or "").strip() for r in rows if isinstance(r, dict)}
    inputs: list[tuple[UserInput, bool]] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows, start=first_row):
        where = f"row {n}" if fmt == "csv" else f"users[{n}]"
        if not isinstance(row, dict):
            report.errors.append(f"{where}: must be a mapping")
            continue
        inp = _user_input(row, where, report.errors)
        if inp is None:
            continue
        if inp.username in seen:
            report.errors.append(f"{where}, column username: '{inp.username}' repeats row {seen[inp.username]}")
            continue
        seen[inp.username] = n
        creating = get_user_by_username(session, inp.username) is None
        for e in validate_user_input(session, inp, creating=creating, pending_usernames=usernames):
            report.errors.append(f"{where}, column {e['path'].strip('/').split('/')[0]}: {e['message']}")
        inputs.append((inp, creating))
    if report.errors:
        return report
    # Managers may be defined later in the file: create everyone first, then link managers.
    for inp, creating in progress(inputs):
        manager, inp.manager = inp.manager, None
        apply_user(session, inp, actor=actor, creating=creating)
        inp.manager = manager
        (report.created if creating else report.updated).append(inp.username)
    for inp, _ in inputs:
        if inp.manager is not None:
            apply_user(session, UserInput(username=inp.username, manager=inp.manager), actor=actor, creating=False)
    return report


def known_groups(session: Session) -> list[str]:
    return list(session.execute(select(Group.name).order_by(Group.name)).scalars())
