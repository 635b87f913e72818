"""Deploying models: validate, store an immutable version with a content hash, index its process ids."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.service import append_system_event
from engine.deploy.loader import MODEL_FILE, discover_models, group_display_name
from engine.deploy.models import ModelVersion, ProcessDefinition, ProcessModel
from engine.deploy.specs import ParsedVersion, Resolver, check_forms, check_scripts, parse_version
from engine.errors import ElementError, ModelInvalid, NotFound

MAX_MODEL_ID = 255


def content_hash(files: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(sorted(files.items())), ensure_ascii=False).encode()).hexdigest()


def db_resolver(session: Session) -> Resolver:
    def resolve(ref: str) -> Mapping[str, str] | None:
        row = session.get(ProcessDefinition, ref)
        if row is None:
            return None
        version = session.get(ModelVersion, row.version_id)
        return version.files if version else None

    return resolve


def get_model(session: Session, model_id: str) -> ProcessModel:
    model = session.get(ProcessModel, model_id)
    if model is None:
        raise NotFound(f"process model '{model_id}' not found")
    return model


def latest_version(session: Session, model: ProcessModel) -> ModelVersion | None:
    return session.get(ModelVersion, model.latest_version_id) if model.latest_version_id else None


def _read_meta(files: Mapping[str, str]) -> dict[str, Any]:
    if MODEL_FILE not in files:
        raise ModelInvalid([ElementError(MODEL_FILE, "process_model.json is missing")])
    try:
        meta = json.loads(files[MODEL_FILE])
    except json.JSONDecodeError as exc:
        raise ModelInvalid([ElementError(MODEL_FILE, f"invalid JSON: {exc.msg}", line=exc.lineno)]) from exc
    if not isinstance(meta, dict):
        raise ModelInvalid([ElementError(MODEL_FILE, "must be a JSON object")])
    errors = []
    for key in ("primary_file_name", "primary_process_id"):
        if not isinstance(meta.get(key), str) or not meta.get(key):
            errors.append(ElementError(MODEL_FILE, f"'{key}' is required"))
    paths = meta.get("metadata_extraction_paths") or []
    if not isinstance(paths, list) or not all(isinstance(p, dict) and "key" in p and "path" in p for p in paths):
        errors.append(ElementError(MODEL_FILE, "'metadata_extraction_paths' must be a list of {key, path}"))
    if meta.get("primary_file_name") and meta["primary_file_name"] not in files:
        errors.append(ElementError(MODEL_FILE, f"primary file '{meta['primary_file_name']}' is missing"))
    if errors:
        raise ModelInvalid(errors)
    return meta


def validate_files(session: Session, files: Mapping[str, str]) -> tuple[dict[str, Any], ParsedVersion]:
    bad_names = [n for n in files if "/" in n or "\\" in n or n.startswith(".") or not n.strip()]
    if bad_names:
        raise ModelInvalid([ElementError(n, "file names must be plain names without folders") for n in bad_names])
    meta = _read_meta(files)
    parsed = parse_version(files, meta["primary_process_id"], db_resolver(session))
    errors = check_scripts(parsed) + check_forms(parsed)
    if errors:
        raise ModelInvalid(errors)
    return meta, parsed


@dataclass
class DeployResult:
    version: ModelVersion
    created: bool


def deploy(
    session: Session, *, model_id: str, files: Mapping[str, str], actor: str,
    keep_omitted: bool = True, group_path: str = "",
) -> DeployResult:
    """Validate and store a new version. With keep_omitted, files not given are kept from the
    latest version (the API's semantics); identical content does not create a new version."""
    model_id = model_id.strip("/")
    if not model_id or len(model_id) > MAX_MODEL_ID or ".." in model_id.split("/"):
        raise ModelInvalid([ElementError(None, f"invalid process model id '{model_id}'")])
    model = session.get(ProcessModel, model_id)
    current = latest_version(session, model) if model else None
    merged: dict[str, str] = dict(current.files) if (current and keep_omitted) else {}
    merged.update(files)
    digest = content_hash(merged)
    if current is not None and current.content_hash == digest:
        return DeployResult(current, False)

    meta, parsed = validate_files(session, merged)
    if model is None:
        model = ProcessModel(id=model_id)
        session.add(model)
    model.display_name = str(meta.get("display_name") or model_id)
    model.description = str(meta.get("description") or "")
    model.group_path = group_path or model.group_path or ""
    number = (session.execute(
        select(ModelVersion.number).where(ModelVersion.model_id == model_id).order_by(ModelVersion.number.desc())
    ).scalars().first() or 0) + 1
    version = ModelVersion(
        model_id=model_id, number=number, content_hash=digest, files=merged, meta=meta,
        primary_process_id=meta["primary_process_id"], deployed_by=actor,
    )
    session.add(version)
    session.flush()
    model.latest_version_id = version.id
    for ref in parsed.process_ids + [f"dmn:{d}" for d in parsed.decision_ids]:
        row = session.get(ProcessDefinition, ref)
        if row is None:
            session.add(ProcessDefinition(process_id=ref, version_id=version.id))
        else:
            row.version_id = version.id
    append_system_event(session, type="model_deployed", actor=actor, data={
        "model_id": model_id, "version": number, "content_hash": digest, "files": sorted(merged),
    })
    session.flush()
    return DeployResult(version, True)


@dataclass
class DirDeployReport:
    deployed: list[tuple[str, int]]
    unchanged: list[str]
    failed: dict[str, ModelInvalid]


def deploy_directory(session: Session, root: Path, *, actor: str) -> DirDeployReport:
    """Deploy every model under root. Models whose call activities need another model of the
    directory are retried after it, so the order on disk does not matter."""
    pending = discover_models(root)
    report = DirDeployReport([], [], {})
    while pending:
        failed_now = []
        for m in pending:
            try:
                with session.begin_nested():
                    res = deploy(session, model_id=m.id, files=m.files, actor=actor, keep_omitted=False,
                                 group_path=group_display_name(root, m.id))
            except ModelInvalid as exc:
                failed_now.append((m, exc))
                continue
            (report.deployed.append((m.id, res.version.number)) if res.created else report.unchanged.append(m.id))
        if len(failed_now) == len(pending):
            report.failed = {m.id: exc for m, exc in failed_now}
            break
        pending = [m for m, _ in failed_now]
    return report
