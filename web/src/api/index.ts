// The endpoints the UI uses, typed. Model ids are paths ("eto/eto-change-order"); in URLs
// their '/' is written ':' (the spiff-arena convention).
import { API_BASE, request, upload, type UploadOptions } from "./client";
import type {
  AddPosition,
  AddSign,
  Attachment,
  AttachmentMeta,
  BatchResult,
  CcItem,
  Comment,
  DirectoryPerson,
  DirectoryQuery,
  Draft,
  InboxCounts,
  Instance,
  InstanceDetail,
  InstanceQuery,
  JsonObject,
  LoginResponse,
  NotificationPage,
  Page,
  ProcessModel,
  ProcessModelDetail,
  Region,
  SendBackTarget,
  Task,
  TaskDetail,
  TaskQuery,
  User,
} from "./types";

export { ApiError, onUnauthorized } from "./client";
export type * from "./types";

export const modelIdToPath = (id: string): string => id.replaceAll("/", ":");

/** `sha256:<hex>` -> `<hex>` (a bare hex stays as it is). */
export const shaOf = (ref: string): string => (ref.startsWith("sha256:") ? ref.slice(7) : ref);

/** Where the browser downloads an attachment (same origin: the session cookie authenticates). */
export const attachmentUrl = (ref: string): string => `${API_BASE}/attachments/${encodeURIComponent(shaOf(ref))}`;

export interface AddApproverBody {
  users: string[];
  position: AddPosition;
  sign: AddSign;
  comment?: string;
  /** For "after": my form, submitted with it (validated like `complete`). */
  data?: JsonObject;
}

const taskAction = <T = InstanceDetail>(id: number, action: string, body: JsonObject = {}) =>
  request<T>(`/tasks/${id}/${action}`, { method: "POST", body });

/** Drops empty optional texts so the server never sees `comment: ""`. */
const withComment = (body: JsonObject, comment?: string): JsonObject => {
  const c = comment?.trim();
  return c ? { ...body, comment: c } : body;
};

export const api = {
  login: (username: string, password: string) =>
    request<LoginResponse>("/auth/login", { method: "POST", body: { username, password }, quiet401: true }),
  logout: () => request<void>("/auth/logout", { method: "POST", quiet401: true }),
  me: () => request<User>("/me", { quiet401: true }),

  regions: () => request<Region[]>("/regions"),
  processModels: () => request<ProcessModel[]>("/process-models"),
  processModel: (id: string) => request<ProcessModelDetail>(`/process-models/${encodeURIComponent(modelIdToPath(id))}`),

  startInstance: (processModelId: string, data?: JsonObject) =>
    request<InstanceDetail>("/process-instances", {
      method: "POST",
      body: { process_model_id: modelIdToPath(processModelId), ...(data ? { data } : {}) },
    }),
  instances: (query: InstanceQuery, signal?: AbortSignal) =>
    request<Page<Instance>>("/process-instances", {
      query: { ...query, process: query.process ? modelIdToPath(query.process) : undefined },
      signal,
    }),
  instance: (id: number) => request<InstanceDetail>(`/process-instances/${id}`),
  withdraw: (id: number, reason: string) =>
    request<InstanceDetail>(`/process-instances/${id}/withdraw`, { method: "POST", body: { reason } }),
  ccInstance: (id: number, users: string[], comment?: string) =>
    request<unknown>(`/process-instances/${id}/cc`, { method: "POST", body: withComment({ users }, comment) }),
  urgeInstance: (id: number, comment?: string) =>
    request<unknown>(`/process-instances/${id}/urge`, { method: "POST", body: withComment({}, comment) }),
  comments: (id: number, signal?: AbortSignal) => request<Comment[]>(`/process-instances/${id}/comments`, { signal }),
  addComment: (id: number, body: string, attachments: string[] = []) =>
    request<Comment>(`/process-instances/${id}/comments`, {
      method: "POST",
      body: { body, ...(attachments.length ? { attachments } : {}) },
    }),

  tasks: (query: TaskQuery, signal?: AbortSignal) =>
    request<Page<Task>>("/tasks", {
      query: { ...query, process: query.process ? modelIdToPath(query.process) : undefined },
      signal,
    }),
  task: (id: number) => request<TaskDetail>(`/tasks/${id}`),
  completeTask: (id: number, data: JsonObject) => taskAction(id, "complete", { data }),
  saveDraft: (id: number, data: JsonObject) => request<Draft>(`/tasks/${id}/draft`, { method: "PUT", body: { data } }),
  claim: (id: number) => taskAction<unknown>(id, "claim"),
  unclaim: (id: number) => taskAction<unknown>(id, "unclaim"),
  transfer: (id: number, to: string, comment?: string) =>
    taskAction<unknown>(id, "transfer", withComment({ to }, comment)),
  addApprover: (id: number, { comment, ...body }: AddApproverBody) =>
    taskAction<unknown>(id, "add-approver", withComment(body as unknown as JsonObject, comment)),
  sendBackTargets: (id: number) => request<SendBackTarget[]>(`/tasks/${id}/send-back-targets`),
  sendBack: (id: number, to: string, comment: string) =>
    taskAction<unknown>(id, "send-back", { to, comment: comment.trim() }),
  ccTask: (id: number, users: string[], comment?: string) =>
    taskAction<unknown>(id, "cc", withComment({ users }, comment)),
  urgeTask: (id: number, comment?: string) => taskAction<unknown>(id, "urge", withComment({}, comment)),
  commentTask: (id: number, body: string, attachments: string[] = []) =>
    taskAction<Comment>(id, "comment", { body, ...(attachments.length ? { attachments } : {}) }),
  batchApprove: (taskIds: number[], comment?: string) =>
    request<{ results: BatchResult[] }>("/tasks/batch-approve", {
      method: "POST",
      body: withComment({ task_ids: taskIds }, comment),
    }),

  inboxCounts: (signal?: AbortSignal) => request<InboxCounts>("/inbox/counts", { signal }),
  cc: (query: { unread?: boolean; page?: number; per_page?: number }, signal?: AbortSignal) =>
    request<Page<CcItem>>("/cc", { query: { ...query, unread: query.unread ? true : undefined }, signal }),

  notifications: (query: { unread?: boolean; page?: number; per_page?: number } = {}, signal?: AbortSignal) =>
    request<NotificationPage>("/notifications", {
      query: { ...query, unread: query.unread ? true : undefined },
      signal,
    }),
  markNotificationRead: (id: number) => request<void>(`/notifications/${id}/read`, { method: "POST" }),
  markAllNotificationsRead: () => request<void>("/notifications/read-all", { method: "POST" }),

  directory: (query: DirectoryQuery, signal?: AbortSignal) =>
    request<Page<DirectoryPerson>>("/directory", { query: { ...query }, signal }),

  uploadAttachment: (file: File, options: Omit<UploadOptions, "field"> = {}) =>
    upload<Attachment>("/attachments", file, file.name, { ...options, field: "file" }),
  attachmentMeta: (ref: string) => request<AttachmentMeta>(`/attachments/${encodeURIComponent(shaOf(ref))}/meta`),
};
