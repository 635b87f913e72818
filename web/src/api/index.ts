// The endpoints the UI uses, typed. Model ids are paths ("eto/eto-change-order"); in URLs
// their '/' is written ':' (the spiff-arena convention).
import { request } from "./client";
import type {
  Instance,
  InstanceDetail,
  InstanceQuery,
  JsonObject,
  LoginResponse,
  Page,
  ProcessModel,
  ProcessModelDetail,
  Region,
  Task,
  TaskDetail,
  TaskQuery,
  User,
} from "./types";

export { ApiError, onUnauthorized } from "./client";
export type * from "./types";

export const modelIdToPath = (id: string): string => id.replaceAll("/", ":");

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

  tasks: (query: TaskQuery, signal?: AbortSignal) =>
    request<Page<Task>>("/tasks", {
      query: { ...query, process: query.process ? modelIdToPath(query.process) : undefined },
      signal,
    }),
  task: (id: number) => request<TaskDetail>(`/tasks/${id}`),
  completeTask: (id: number, data: JsonObject) =>
    request<InstanceDetail>(`/tasks/${id}/complete`, { method: "POST", body: { data } }),
};
