from __future__ import annotations

from typing import Any

from sqlalchemy import select

from api.auth import login_required, require_user, roles_required
from api.blueprint import Blueprint
from api.db import db
from api.schemas import DeploymentIn, ProcessModelOut, ProcessModelSummaryOut, VersionOut
from api.views.common import model_id_from_path
from engine.deploy.models import ModelVersion, ProcessModel
from engine.deploy.service import deploy, get_model
from engine.instances.access import may_start

blp = Blueprint("process_models", __name__, url_prefix="/api/v1", description="Process models and deployments")


def _model_dict(model: ProcessModel, versions: list[ModelVersion], with_files: bool) -> dict[str, Any]:
    latest = next((v for v in versions if v.id == model.latest_version_id), None)
    return {
        "id": model.id, "display_name": model.display_name, "description": model.description,
        "group_path": model.group_path, "latest_version": latest, "versions": versions,
        "primary_process_id": latest.primary_process_id if latest else None,
        "primary_file_name": (latest.meta or {}).get("primary_file_name") if latest else None,
        "files": (latest.files if latest and with_files else {}),
        "can_start": latest is not None and may_start(require_user(), latest.meta or {}),
    }


@blp.route("/process-models")
@login_required
@blp.response(200, ProcessModelSummaryOut(many=True))
def list_models() -> list[dict[str, Any]]:
    """Deployed process models with their versions."""
    session = db()
    models = session.execute(select(ProcessModel).order_by(ProcessModel.id)).scalars().all()
    versions = session.execute(select(ModelVersion).order_by(ModelVersion.model_id, ModelVersion.number)).scalars().all()
    by_model: dict[str, list[ModelVersion]] = {}
    for v in versions:
        by_model.setdefault(v.model_id, []).append(v)
    return [_model_dict(m, by_model.get(m.id, []), False) for m in models]


@blp.route("/process-models/<string:model_id>")
@login_required
@blp.response(200, ProcessModelOut)
def get_model_view(model_id: str) -> dict[str, Any]:
    """One model: files of its newest version, primary process, every version. Id: path with '/' as ':'."""
    session = db()
    model = get_model(session, model_id_from_path(model_id))
    versions = list(session.execute(
        select(ModelVersion).where(ModelVersion.model_id == model.id).order_by(ModelVersion.number)).scalars())
    return _model_dict(model, versions, True)


@blp.route("/process-models/<string:model_id>/deployments", methods=["POST"])
@roles_required("designer", "admin")
@blp.arguments(DeploymentIn)
@blp.response(201, VersionOut)
def deploy_model(body: dict[str, Any], model_id: str) -> ModelVersion:
    """Validate and deploy a new version. Files omitted are kept from the newest version;
    422 names the file, line and BPMN element of each problem."""
    session = db()
    result = deploy(session, model_id=model_id_from_path(model_id), files=body["files"],
                    actor=require_user().username)
    session.commit()
    return result.version
