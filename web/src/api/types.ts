// Shapes of the REST API (/api/v1), as documented in docs and /api/openapi.json.
// Datetimes are ISO 8601 strings in UTC; numbers are exact JSON numbers.

export interface User {
  id: number;
  username: string;
  display_name: string;
  email?: string | null;
  region: string;
  department?: string | null;
  groups: string[];
  manager?: string | null;
  locale?: string | null;
}

export interface LoginResponse {
  token: string;
  csrf_token?: string;
  user: User;
}

export interface Region {
  code: string;
  name: string;
  name_en?: string | null;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}

export interface ModelVersion {
  number: number;
  content_hash: string;
  primary_process_id: string;
  deployed_by: string;
  deployed_at: string;
}

export interface ProcessModel {
  id: string;
  display_name: string;
  description?: string | null;
  group?: string | null;
  latest_version?: ModelVersion | null;
  versions: ModelVersion[];
  /** Whether the caller may file a request of this model (start_groups in process_model.json). */
  can_start?: boolean;
}

export interface ProcessModelDetail extends ProcessModel {
  primary_process_id?: string;
  primary_file_name?: string;
  files: Record<string, string>;
}

export type InstanceStatus = "running" | "waiting" | "complete" | "withdrawn" | "terminated" | "error";
export type TaskStatus = "open" | "on_hold" | "completed" | "cancelled";
/** How a closed task ended: null for a plain completion. */
export type TaskOutcome = "sent_back" | "approve" | "reject" | "auto_skipped" | null;
export type Metadata = Record<string, unknown>;

export interface Task {
  id: number;
  name: string;
  bpmn_id: string;
  lane: string | null;
  status: TaskStatus;
  process_instance_id: number;
  process_model_id: string;
  region: string | null;
  assignee: string | null;
  /** Display names of the people fields (the username when a person has none). */
  assignee_name?: string | null;
  due_at: string | null;
  sla_state: SlaState | null;
  created_at: string;
  completed_at: string | null;
  completed_by: string | null;
  completed_by_name?: string | null;
  process_title: string;
  metadata: Metadata;
  candidate_users: string[];
  /** Display names of `candidate_users`, in the same order. */
  candidate_user_names?: string[];
  candidate_groups: string[];
  /** `added`: a 加签 (add approver) task asking someone's opinion; optional until the server sends it. */
  kind?: "task" | "added";
  /** True until the user opens it. */
  unread?: boolean;
  /** Its form needs no input beyond "approve": it may be approved from the inbox with others. */
  batch_approvable?: boolean;
  outcome?: TaskOutcome;
  parent_id?: number | null;
  add_position?: AddPosition | null;
  add_sign?: AddSign | null;
  added_by?: string | null;
  added_by_name?: string | null;
  /** True when `assignee` was set by claiming a group task. */
  claimed?: boolean;
}

/** A task's SLA state (null: no due time); the inbox filter adds "none" for that. */
export type SlaState = "on_track" | "due_soon" | "breached";
export type SlaFilter = SlaState | "none";

export type AddPosition = "before" | "after";
export type AddSign = "all" | "any";

/** The action names of `allowed_actions` (and of POST /tasks/<id>/<action>). */
export type TaskAction =
  | "complete"
  | "save-draft"
  | "claim"
  | "unclaim"
  | "transfer"
  | "add-approver"
  | "send-back"
  | "cc"
  | "urge"
  | "comment";

export interface Draft {
  data: JsonObject;
  saved_at: string;
}

export type JsonObject = Record<string, unknown>;

export interface TaskDetail extends Task {
  form: { schema: JsonObject | null; ui_schema: JsonObject | null } | null;
  data: JsonObject;
  instructions: string | null;
  allowed_actions: string[];
  /** My saved, unsubmitted form (PUT /tasks/<id>/draft), or null. */
  draft?: Draft | null;
  /** The 加签 rows of this task (the people asked for their opinion). */
  added_approvers?: Task[];
}

export interface SendBackTarget {
  bpmn_id: string;
  name: string;
  completed_by: string | null;
  completed_at: string | null;
}

export interface BatchResult {
  task_id: number;
  ok: boolean;
  status: number;
  error: string | { code?: string; message?: string } | null;
}

export interface InboxCounts {
  mine: number;
  group: number;
  cc_unread: number;
  started_open: number;
  notifications_unread: number;
}

export interface CcItem {
  instance_id: number;
  title: string;
  model_id: string;
  status: InstanceStatus;
  region: string | null;
  by: string;
  by_name?: string;
  comment: string | null;
  created_at: string;
  read_at: string | null;
  metadata: Metadata;
}

export interface Comment {
  id: number;
  author: string;
  author_name?: string | null;
  body: string;
  attachments: string[];
  task_id: number | null;
  task_name: string | null;
  created_at: string;
}

export interface Notification {
  id: number;
  kind: string;
  title: string;
  body: string;
  process_instance_id: number | null;
  task_id: number | null;
  created_at: string;
  read_at: string | null;
}

export interface NotificationPage extends Page<Notification> {
  unread_count: number;
}

export interface DirectoryPerson {
  id: number;
  username: string;
  display_name: string;
  region: string;
  department: string | null;
  groups: string[];
}

export interface DirectoryQuery {
  q?: string;
  region?: string;
  group?: string;
  page?: number;
  per_page?: number;
}

export interface Attachment {
  ref: string;
  sha256: string;
  filename: string;
  content_type: string;
  size: number;
  uploaded_at?: string;
}

export interface AttachmentMeta {
  filename: string;
  size: number;
  content_type: string;
  sha256: string;
}

export interface TimelineEvent {
  seq: number;
  at: string;
  actor: string;
  /** The actor's display name ("system" for the engine). */
  actor_name?: string;
  type: string;
  task_guid?: string | null;
  bpmn_id: string | null;
  data: JsonObject | null;
  hash?: string;
}

export interface Instance {
  id: number;
  process_model_id: string;
  process_id?: string;
  version?: number | null;
  title: string;
  status: InstanceStatus;
  initiator: string;
  initiator_name?: string;
  region: string | null;
  metadata: Metadata;
  error: unknown;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface InstanceDetail extends Instance {
  data: JsonObject;
  tasks: Task[];
  timeline: TimelineEvent[];
  /** What the caller may do on the request (e.g. "cc", "urge", "comment"), when the server says. */
  allowed_actions?: string[];
}

/** One field problem of a 422 answer; `path` is a JSON Pointer ("" = the whole form). */
export interface FieldError {
  path: string;
  message: string;
  message_zh?: string;
  code?: string;
}

export type TaskScope = "mine" | "group" | "all";
export type TaskStatusFilter = "open" | "completed" | "any";
export type TaskSort = "-created" | "created" | "due" | "-due";

export interface TaskQuery {
  scope: TaskScope;
  status?: TaskStatusFilter;
  q?: string;
  process?: string;
  region?: string;
  sort?: TaskSort;
  /** SLA state(s), comma separated for several. */
  sla?: SlaFilter;
  /** Due time range: YYYY-MM-DD (whole days in Asia/Shanghai, inclusive) or ISO times. */
  due_from?: string;
  due_to?: string;
  /** The request's metadata: exact values, key:value[,key:value]. */
  metadata?: string;
  /** Numeric ranges on the request's metadata (bounds inclusive), key:number[,key:number]. */
  metadata_min?: string;
  metadata_max?: string;
  page?: number;
  per_page?: number;
  process_instance_id?: number;
}

export interface InstanceQuery {
  initiator?: string;
  status?: string;
  process?: string;
  region?: string;
  /** Numeric ranges on the request's metadata (bounds inclusive), key:number[,key:number]. */
  metadata_min?: string;
  metadata_max?: string;
  sort?: "-created" | "created" | "-updated" | "updated";
  page?: number;
  per_page?: number;
}
