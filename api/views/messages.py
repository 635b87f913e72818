from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields, validate

from api.auth import login_required, require_user
from api.blueprint import Blueprint
from api.db import db
from api.schemas import StrictSchema
from api.views.common import engine_ctx
from engine.instances.messages import deliver_message, previous_answer, remember_answer

blp = Blueprint("messages", __name__, url_prefix="/api/v1", description="Messages and webhooks from other systems")


class MessageIn(StrictSchema):
    payload = fields.Dict(load_default=dict)
    process_instance_id = fields.Integer(allow_none=True, load_default=None)
    correlation = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict,
                              metadata={"description": "instance metadata that must match, e.g. {\"application_no\": \"...\"}"})


class DeliveryOut(StrictSchema):
    delivered_to = fields.List(fields.Integer())
    started = fields.List(fields.Integer())


@blp.route("/messages/<string:name>", methods=["POST"])
@login_required
@blp.arguments(MessageIn)
@blp.response(200, DeliveryOut)
@blp.alt_response(201, schema=DeliveryOut, description="a new request was started by the message")
@blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string", "maxLength": 200},
                      "description": "a retry with the same key gets the same answer and changes nothing"}])
def post_message(body: dict[str, Any], name: str) -> Any:
    """Deliver a message to the requests waiting for it (by id or correlation on their
    metadata), or start a request whose process begins with this message."""
    session = db()
    key = request.headers.get("Idempotency-Key", "")[:200] or None
    done = previous_answer(session, key, name)
    if done is not None:
        return done.response, done.status
    validate.Length(min=1, max=255)(name)
    delivery = deliver_message(session, engine_ctx(), name=name, payload=body["payload"], actor=require_user(),
                               instance_id=body["process_instance_id"], correlation=body["correlation"])
    remember_answer(session, key, name, require_user(), delivery)
    session.commit()
    return delivery.to_dict(), delivery.status
