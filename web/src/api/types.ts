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
export type TaskStatus = "open" | "completed" | "cancelled";
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
  due_at: string | null;
  sla_state: string | null;
  created_at: string;
  completed_at: string | null;
  completed_by: string | null;
  process_title: string;
  metadata: Metadata;
  candidate_users: string[];
  candidate_groups: string[];
}

export type JsonObject = Record<string, unknown>;

export interface TaskDetail extends Task {
  form: { schema: JsonObject | null; ui_schema: JsonObject | null } | null;
  data: JsonObject;
  instructions: string | null;
  allowed_actions: string[];
}

export interface TimelineEvent {
  seq: number;
  at: string;
  actor: string;
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
  page?: number;
  per_page?: number;
  process_instance_id?: number;
}

export interface InstanceQuery {
  initiator?: string;
  status?: string;
  process?: string;
  region?: string;
  sort?: "-created" | "created" | "-updated" | "updated";
  page?: number;
  per_page?: number;
}
