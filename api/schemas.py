"""marshmallow schemas of the REST API: what clients send and what they get back."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class StrictSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class ErrorSchema(Schema):
    error = fields.Dict()


class LoginIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    email = fields.String()
    region = fields.String()
    department = fields.String()
    groups = fields.List(fields.String(), attribute="group_names")
    manager = fields.Function(lambda u: u.manager.username if u.manager else None)
    locale = fields.String()


class LoginOut(Schema):
    token = fields.String()
    csrf_token = fields.String()
    user = fields.Nested(UserOut)


class PageArgs(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class VersionOut(Schema):
    number = fields.Integer()
    content_hash = fields.String()
    primary_process_id = fields.String()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()


class ProcessModelSummaryOut(Schema):
    id = fields.String()
    display_name = fields.String()
    description = fields.String()
    group = fields.String(attribute="group_path")
    latest_version = fields.Nested(VersionOut, allow_none=True)
    versions = fields.List(fields.Nested(VersionOut))
    primary_process_id = fields.String(allow_none=True)
    primary_file_name = fields.String(allow_none=True)
    can_start = fields.Boolean(metadata={"description": "whether the caller may start a request"})


class ProcessModelOut(ProcessModelSummaryOut):
    files = fields.Dict(keys=fields.String(), values=fields.String())


class DeploymentIn(StrictSchema):
    files = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=255)), values=fields.String(),
                        required=True)


class StartIn(StrictSchema):
    process_model_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    data = fields.Dict(load_default=dict)


class InstanceSearchArgs(StrictSchema):
    status = fields.String(metadata={"description": "one or several, comma separated"})
    process = fields.String()
    region = fields.String()
    initiator = fields.String()
    participant = fields.String(metadata={"description": "initiated the request or completed one of its steps"})
    metadata = fields.String(metadata={"description": "key:value[,key:value] on extracted metadata"})
    metadata_min = fields.String(metadata={"description": "key:number[,...]: numeric metadata at least this"})
    metadata_max = fields.String(metadata={"description": "key:number[,...]: numeric metadata at most this"})
    created_from = fields.String(metadata={"description": "date (Asia/Shanghai) or ISO 8601 time, inclusive"})
    created_to = fields.String(metadata={"description": "date (Asia/Shanghai, inclusive) or ISO 8601 time"})
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "text in title or metadata"})


class InstanceListArgs(PageArgs, InstanceSearchArgs):
    sort = fields.String(load_default="-created")


class ExportIn(InstanceSearchArgs):
    pass


class ExportOut(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, done or failed"})
    total = fields.Integer()
    done = fields.Integer()
    size = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    filters = fields.Dict()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class TimestampOut(Schema):
    time = fields.String(allow_none=True, metadata={"description": "ISO 8601"})
    intact = fields.Boolean()
    valid = fields.Boolean()
    trusted = fields.Boolean()
    tsa = fields.String(allow_none=True, metadata={"description": "the time-stamping authority's certificate subject"})
    ok = fields.Boolean()


class SignatureReportOut(Schema):
    field_name = fields.String()
    kind = fields.String(metadata={"description": "signature or document-timestamp"})
    revision = fields.Integer(metadata={"description": "PDF revision (0-based) the signature belongs to"})
    signer = fields.String(allow_none=True)
    signer_sha256 = fields.String(allow_none=True)
    intact = fields.Boolean()
    valid = fields.Boolean()
    trusted = fields.Boolean()
    signing_time = fields.String(allow_none=True, metadata={"description": "ISO 8601, as claimed by the signer"})
    timestamp = fields.Nested(TimestampOut, allow_none=True)
    coverage = fields.String(allow_none=True)
    modification_level = fields.String(allow_none=True)
    subfilter = fields.String(allow_none=True)
    ades_indication = fields.String(allow_none=True)
    problems = fields.List(fields.String())
    ok = fields.Boolean()


class RecordAuditOut(Schema):
    checked = fields.Boolean(metadata={"description": "false when the PDF carries no request facts to check"})
    instance_id = fields.Integer()
    matches = fields.Boolean(metadata={"description": "the record's chain head is in this system's audit log"})
    current = fields.Boolean(metadata={"description": "the record covers the request's newest event"})
    chain_intact = fields.Boolean()
    reason = fields.String(allow_none=True)
    problems = fields.List(fields.String())


class RecordVerdictOut(Schema):
    ok = fields.Boolean(metadata={"description": "signatures valid and trusted, and the audit chain matches"})
    reason = fields.String(allow_none=True, metadata={"description": "the first problem found"})
    level = fields.String(allow_none=True, metadata={"description": "PAdES baseline level: B-B, B-T, B-LT or B-LTA"})
    signatures = fields.List(fields.Nested(SignatureReportOut))
    document_timestamps = fields.List(fields.Nested(SignatureReportOut))
    dss = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True)
    record = fields.Dict(allow_none=True, metadata={"description": "the facts embedded in the signed record"})
    problems = fields.List(fields.String())
    chain_head = fields.String(allow_none=True)
    instance_id = fields.Raw(allow_none=True)
    audit = fields.Nested(RecordAuditOut)


_NAME = "the person's display name (their username when they have none)"


class TaskOut(Schema):
    id = fields.Integer()
    name = fields.String()
    bpmn_id = fields.String()
    lane = fields.String(allow_none=True)
    status = fields.String()
    process_instance_id = fields.Integer(attribute="instance_id")
    process_model_id = fields.String(attribute="model_id")
    region = fields.String()
    assignee = fields.String(allow_none=True)
    assignee_name = fields.String(allow_none=True, metadata={"description": _NAME})
    due_at = fields.DateTime(allow_none=True)
    sla_state = fields.String(allow_none=True, metadata={
        "description": "on_track, due_soon (the last fifth of the allowed time) or breached; null without a due time"})
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_by_name = fields.String(allow_none=True, metadata={"description": _NAME})
    process_title = fields.String()
    metadata = fields.Dict()
    candidate_users = fields.List(fields.String())
    candidate_user_names = fields.List(fields.String(), metadata={
        "description": "display names of candidate_users, in the same order"})
    candidate_groups = fields.List(fields.String())
    kind = fields.String(metadata={"description": "task (a BPMN step) or added (an added approver's opinion, 加签)"})
    outcome = fields.String(allow_none=True, metadata={"description": "sent_back, auto_skipped, approve, reject"})
    unread = fields.Boolean()
    batch_approvable = fields.Boolean()
    claimed = fields.Boolean()
    parent_id = fields.Integer(allow_none=True)
    add_position = fields.String(allow_none=True)
    add_sign = fields.String(allow_none=True)
    added_by = fields.String(allow_none=True)
    added_by_name = fields.String(allow_none=True, metadata={"description": _NAME})


class DraftOut(Schema):
    data = fields.Dict()
    saved_at = fields.DateTime()


class TaskDetailOut(TaskOut):
    form = fields.Dict()
    data = fields.Dict()
    instructions = fields.String(allow_none=True)
    allowed_actions = fields.List(fields.String())
    draft = fields.Nested(DraftOut, allow_none=True)
    added_approvers = fields.List(fields.Nested(TaskOut), metadata={"description": "加签 rows of this task"})


class DraftIn(StrictSchema):
    data = fields.Dict(required=True)


_COMMENT = validate.Length(max=2000)
_PEOPLE = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                      validate=validate.Length(min=1, max=50))


class TransferIn(StrictSchema):
    to = fields.String(required=True, validate=validate.Length(min=1, max=100))
    comment = fields.String(load_default="", validate=_COMMENT)


class AddApproverIn(StrictSchema):
    users = _PEOPLE
    position = fields.String(required=True, validate=validate.OneOf(["before", "after"]))
    sign = fields.String(load_default="all", validate=validate.OneOf(["all", "any"]))
    comment = fields.String(load_default="", validate=_COMMENT)
    data = fields.Dict(load_default=None, allow_none=True,
                       metadata={"description": "position=after: my form submission, applied once they agree"})


class SendBackIn(StrictSchema):
    to = fields.String(required=True, validate=validate.Length(min=1, max=255),
                       metadata={"description": "bpmn_id of an earlier step (see send-back-targets)"})
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class SendBackTargetOut(Schema):
    bpmn_id = fields.String()
    name = fields.String()
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)


class CcIn(StrictSchema):
    users = _PEOPLE
    comment = fields.String(load_default="", validate=_COMMENT)


class CcOut(Schema):
    users = fields.List(fields.String())


class UrgeIn(StrictSchema):
    comment = fields.String(load_default="", validate=validate.Length(max=500))


class UrgeOut(Schema):
    notified = fields.List(fields.String())
    tasks = fields.List(fields.Integer())


class CommentIn(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    attachments = fields.List(fields.String(validate=validate.Regexp(r"^sha256:[0-9a-f]{64}$")), load_default=list,
                              validate=validate.Length(max=20))


class CommentOut(Schema):
    id = fields.Integer()
    author = fields.String()
    author_name = fields.String()
    body = fields.String()
    attachments = fields.List(fields.String())
    task_id = fields.Integer(allow_none=True)
    task_name = fields.String(allow_none=True)
    created_at = fields.DateTime()


class BatchApproveIn(StrictSchema):
    task_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)), required=True,
                           validate=validate.Length(min=1, max=100))
    comment = fields.String(load_default="", validate=_COMMENT)


class BatchResultOut(Schema):
    task_id = fields.Integer()
    ok = fields.Boolean()
    status = fields.Integer()
    error = fields.Dict(allow_none=True)


class BatchApproveOut(Schema):
    results = fields.List(fields.Nested(BatchResultOut))


class InboxCountsOut(Schema):
    mine = fields.Integer()
    group = fields.Integer()
    cc_unread = fields.Integer()
    started_open = fields.Integer()
    notifications_unread = fields.Integer()


class CcListArgs(PageArgs):
    unread = fields.Boolean(load_default=False)


class CcItemOut(Schema):
    instance_id = fields.Integer()
    title = fields.String()
    model_id = fields.String()
    status = fields.String()
    region = fields.String()
    by = fields.String()
    by_name = fields.String(metadata={"description": "display name of `by`"})
    comment = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    metadata = fields.Dict()


class TaskListArgs(PageArgs):
    scope = fields.String(load_default="mine", validate=validate.OneOf(["mine", "group", "all"]))
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "on_hold", "completed", "cancelled", "any"]),
                           metadata={"description": "open (for scope=mine also my tasks on hold for 加签)"})
    process_instance_id = fields.Integer()
    process = fields.String()
    q = fields.String(validate=validate.Length(max=200))
    region = fields.String()
    metadata = fields.String(metadata={"description": "key:value[,key:value]: exact values of the request's metadata"})
    metadata_min = fields.String(metadata={
        "description": "key:number[,...]: the request's numeric metadata at least this (an amount range's lower "
                       "bound, as in the request search); a value that is not a number is a 400 naming the field",
        "example": "amount:10000"})
    metadata_max = fields.String(metadata={
        "description": "key:number[,...]: the request's numeric metadata at most this (inclusive); filtering on a "
                       "field the caller may not see (restricted_fields) is a 400 naming the parameter",
        "example": "amount:50000"})
    sla = fields.String(metadata={
        "description": "SLA state, one or several (comma separated): on_track (has a due time, not yet in "
                       "its last fifth), due_soon (in the last fifth, not overdue), breached (overdue, even "
                       "before the periodic SLA scan has marked it; a closed task: closed after its due "
                       "time), none (no due time). Another value is a 400 naming the field.",
        "example": "due_soon,breached"})
    due_from = fields.String(metadata={"description": "due at or after: date (Asia/Shanghai) or ISO 8601 time"})
    due_to = fields.String(metadata={"description": "due before: date (Asia/Shanghai, inclusive) or ISO 8601 time"})
    sort = fields.String(load_default="-created")


class CompleteIn(StrictSchema):
    data = fields.Dict(load_default=dict)


class RetryIn(StrictSchema):
    data = fields.Dict(load_default=dict, metadata={"description": "corrections merged into the failed task's data"})
    to_latest_version = fields.Boolean(load_default=False)


class WithdrawIn(StrictSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class AuditEventOut(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    actor_name = fields.String(metadata={"description": "display name of `actor` (the actor itself for system)"})
    type = fields.String()
    task_guid = fields.String(allow_none=True)
    bpmn_id = fields.String(allow_none=True)
    data = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


class InstanceOut(Schema):
    id = fields.Integer()
    process_model_id = fields.String(attribute="model_id")
    process_id = fields.String()
    version = fields.Integer(allow_none=True)  # the list leaves it out (None)
    title = fields.String()
    status = fields.String()
    initiator = fields.String()
    initiator_name = fields.String(metadata={"description": _NAME})
    region = fields.String()
    metadata = fields.Dict(attribute="meta")
    error = fields.Dict(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


class InstanceDetailOut(InstanceOut):
    data = fields.Dict()
    tasks = fields.List(fields.Nested(TaskOut))
    timeline = fields.List(fields.Nested(AuditEventOut))
    allowed_actions = fields.List(fields.String(), metadata={
        "description": "what the caller may do with the request now: withdraw, urge, cc, comment"})


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item)), "total": fields.Integer(), "page": fields.Integer(),
        "per_page": fields.Integer(),
    }, name=name)


def parse_metadata_filter(raw: str | None, name: str = "metadata") -> dict[str, str]:
    """`key:value,key2:value2` -> dict; a pair without ':' is a 400 naming it and the parameter."""
    from engine.errors import BadRequest

    out: dict[str, str] = {}
    for pair in (raw or "").split(","):
        if not pair.strip():
            continue
        if ":" not in pair:
            raise BadRequest(f"{name}: '{pair[:100]}' must be key:value", {"field": name})
        k, v = pair.split(":", 1)
        out[k.strip()] = v.strip()
    return out


class AdminUserOut(UserOut):
    phone = fields.String()
    is_active = fields.Boolean()
    created_at = fields.DateTime()


class UserIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=2, max=100))
    display_name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.String(validate=validate.Length(max=200))
    phone = fields.String(validate=validate.Length(max=40))
    region = fields.String(validate=validate.Length(max=32))
    department = fields.String(validate=validate.Length(max=100))
    locale = fields.String(validate=validate.OneOf(["zh-CN", "en"]))
    groups = fields.List(fields.String(validate=validate.Length(max=100)))
    manager = fields.String(allow_none=True, validate=validate.Length(max=100))
    is_active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(min=8, max=200))


class UserPatchIn(UserIn):
    username = fields.String(dump_only=True)


class GroupOut(Schema):
    name = fields.String()
    display_name = fields.String()
    hq_wide = fields.Boolean()
    members = fields.Function(lambda g: sorted(u.username for u in g.members))


class GroupIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    display_name = fields.String(load_default="", validate=validate.Length(max=200))
    hq_wide = fields.Boolean(load_default=False)


class RegionOut(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()


class DelegationIn(StrictSchema):
    delegate = fields.String(required=True, validate=validate.Length(min=1, max=100))
    starts_at = fields.AwareDateTime(required=True, default_timezone=None)
    ends_at = fields.AwareDateTime(required=True, default_timezone=None)
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class DelegationOut(Schema):
    id = fields.Integer()
    delegate = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    reason = fields.String()


class TokenIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    scopes = fields.List(fields.String(validate=validate.OneOf(["read", "write"])), load_default=lambda: ["read"])
    expires_at = fields.AwareDateTime(allow_none=True, load_default=None)


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    username = fields.String()
    prefix = fields.String()
    scopes = fields.Function(lambda t: t["scopes"].split())
    created_by = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    token = fields.String(metadata={"description": "the secret: shown once, when the token is created"})
