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
from engine.deploy.lint import check_model_files
from engine.deploy.loader import MODEL_FILE, discover_models, group_display_name
from engine.deploy.models import ModelVersion, ProcessDefinition, ProcessModel
from engine.deploy.specs import ParsedVersion, Resolver, check_forms, check_scripts, parse_version
from engine.deploy.xml import MAX_MODEL_FILE_BYTES, parse_model_xml
from engine.errors import ElementError, ModelInvalid, NotFound

MAX_MODEL_ID = 255
# A version is every file of the model (files a deployment omits are kept from the one before),
# stored whole in each version: bounded in count and total size, not only per request.
MAX_MODEL_FILES = 200
MAX_MODEL_TOTAL_BYTES = 20 * 1024 * 1024


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


def _load_json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelInvalid([ElementError(name, f"invalid JSON: {exc.msg}", line=exc.lineno)]) from exc
    except RecursionError:
        raise ModelInvalid([ElementError(name, "invalid JSON: nested too deeply")]) from None


def check_files(files: Mapping[str, str]) -> None:
    """What is checked before anything is hashed or parsed: names, text, sizes; naming the file."""
    bad_names = [n for n in files if "/" in n or "\\" in n or n.startswith(".") or not n.strip() or len(n) > 255]
    if bad_names:
        raise ModelInvalid([ElementError(n[:255], "file names must be plain names without folders") for n in bad_names])
    errors = []
    if len(files) > MAX_MODEL_FILES:
        errors.append(ElementError(None, f"a model may have at most {MAX_MODEL_FILES} files (this one has {len(files)})"))
    total = 0
    for name, text in files.items():
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:  # a lone surrogate ("\\ud800" in the JSON request)
            errors.append(ElementError(name, f"not valid Unicode text ({exc.reason})"))
            continue
        total += size
        if size > MAX_MODEL_FILE_BYTES:
            errors.append(ElementError(name, f"file is larger than {MAX_MODEL_FILE_BYTES // (1024 * 1024)} MB"))
    if total > MAX_MODEL_TOTAL_BYTES:
        errors.append(ElementError(None, f"the model's files add up to more than {MAX_MODEL_TOTAL_BYTES // (1024 * 1024)} MB "
                                         "(files a deployment omits are kept from the version before)"))
    if errors:
        raise ModelInvalid(errors)


BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _default_primary(meta: dict[str, Any], files: Mapping[str, str]) -> None:
    """Fill an empty `primary_file_name` / `primary_process_id` as spiff-arena does when it next
    saves the model: the model's only BPMN file, and that file's first executable process.
    With several BPMN files (or none) an empty one stays empty and is reported."""
    if not meta.get("primary_file_name"):
        bpmn = [name for name in files if name.lower().endswith(".bpmn")]
        if len(bpmn) == 1:
            meta["primary_file_name"] = bpmn[0]
    primary = meta.get("primary_file_name")
    if not meta.get("primary_process_id") and isinstance(primary, str) and primary in files:
        root = parse_model_xml(primary, files[primary])
        processes = root.findall(f"{{{BPMN_NS}}}process")
        chosen = next((p for p in processes if p.get("isExecutable") == "true"), processes[0] if processes else None)
        if chosen is not None and chosen.get("id"):
            meta["primary_process_id"] = chosen.get("id")


def _read_meta(files: Mapping[str, str]) -> dict[str, Any]:
    if MODEL_FILE not in files:
        raise ModelInvalid([ElementError(MODEL_FILE, "process_model.json is missing")])
    meta = _load_json(MODEL_FILE, files[MODEL_FILE])
    if not isinstance(meta, dict):
        raise ModelInvalid([ElementError(MODEL_FILE, "must be a JSON object")])
    _default_primary(meta, files)
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
    check_files(files)
    meta = _read_meta(files)
    for name in sorted(files):
        if name.endswith(".json") and "{{" not in files[name]:  # Jinja-templated forms are checked when filled
            _load_json(name, files[name])
    resolver = db_resolver(session)
    lint = check_model_files(files)
    errors = lint.errors
    for ref in lint.references:
        if ref.target not in lint.defined and resolver(ref.target) is None:
            what = f"decision '{ref.target[4:]}'" if ref.target.startswith("dmn:") else f"process '{ref.target}'"
            errors.append(ElementError(ref.file, f"{ref.element_id} calls {what}, which is neither in this model "
                                                 "nor deployed", line=ref.line, element_id=ref.element_id))
    if meta["primary_process_id"] not in lint.defined:
        found = ", ".join(sorted(d for d in lint.defined if not d.startswith("dmn:"))) or "none"
        errors.append(ElementError(MODEL_FILE, f"primary process '{meta['primary_process_id']}' is not defined "
                                               f"in this model's BPMN files; found: {found}"))
    if errors:
        raise ModelInvalid(errors)
    parsed = parse_version(files, meta["primary_process_id"], resolver)
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
    check_files(merged)
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
