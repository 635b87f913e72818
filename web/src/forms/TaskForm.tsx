// A task's form: rjsf + antd from the task's JSON Schema and UI schema, validated in the
// browser like the server validates it, and the server's 422 field errors shown on their fields.
import type { IChangeEvent } from "@rjsf/core";
import Form from "@rjsf/antd";
import type { RJSFValidationError, RegistryFieldsType, TemplatesType } from "@rjsf/utils";
import { Alert, Button, Flex } from "antd";
import { useCallback, useImperativeHandle, useMemo, useRef, useState, type ReactNode, type Ref } from "react";
import { useTranslation } from "react-i18next";
import type { FieldError, JsonObject, TaskDetail } from "../api";
import {
  parsePointer,
  rememberErrors,
  stillValid,
  toErrorSchema,
  messageOf,
  type ServerFieldError,
} from "../lib/pointer";
import { AttachmentsField } from "./AttachmentsField";
import { FieldTemplate } from "./FieldTemplate";
import { localizeSchema, prepareUiSchema } from "./schema";
import { dialectOf, makeTransformErrors, propertyPath, validatorFor } from "./validation";

const fields: RegistryFieldsType = { attachments: AttachmentsField };
const templates: Partial<TemplatesType> = { FieldTemplate };

/** rjsf merges extraErrors (the server's, listed separately) into its lists; ajv's carry a keyword `name`. */
const schemaErrorsOnly = (errors: RJSFValidationError[] | undefined) => (errors ?? []).filter((e) => !!e.name);

/** rjsf's DOM id of the field at a path (root_order_no, root_items_0_amount). */
export const fieldDomId = (path: string[]): string => ["root", ...path].join("_");

function focusField(path: string[]): void {
  const el = document.getElementById(fieldDomId(path));
  if (!el) return;
  el.scrollIntoView({ block: "center", behavior: "smooth" });
  (el.matches("input,textarea,select,button,[tabindex]")
    ? el
    : el.querySelector<HTMLElement>("input,textarea,select,button")
  )?.focus({
    preventScroll: true,
  });
}

interface Problem {
  key: string;
  message: string;
  path: string[];
}

/** One line per problem, even when the browser and the server both found it. */
function uniqueProblems(list: Omit<Problem, "key">[]): Problem[] {
  const seen = new Set<string>();
  return list.flatMap((p) => {
    const key = `${p.path.join("/")}\u0000${p.message}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return [{ ...p, key }];
  });
}

function ProblemSummary({ title, problems }: { title: string; problems: Problem[] }) {
  if (!problems.length) return null;
  return (
    <Alert
      type="error"
      showIcon
      className="form-problems"
      role="alert"
      message={title}
      description={
        <ul>
          {problems.map((p) => (
            <li key={p.key}>
              {p.path.length ? (
                <Button type="link" size="small" className="problem-link" onClick={() => focusField(p.path)}>
                  {p.message}
                </Button>
              ) : (
                p.message
              )}
            </li>
          ))}
        </ul>
      }
    />
  );
}

/** What the task page may ask of the form (save a draft, submit with 后加签). */
export interface TaskFormHandle {
  /** The data as typed so far. */
  data(): JsonObject;
  /** Validates in the browser, showing the problems as a submit would; true when valid. */
  validate(): boolean;
}

/** Passed to fields through rjsf's formContext: uploads in flight hold the submit back. */
export interface TaskFormContext {
  setUploading: (field: string, busy: boolean) => void;
}

export interface TaskFormProps {
  task: TaskDetail;
  canAct: boolean;
  /** The data the form opens with (a saved draft), instead of the task's. */
  initialData?: JsonObject;
  handle?: Ref<TaskFormHandle>;
  /** Buttons beside submit (save draft). */
  secondary?: ReactNode;
  /** Sends the data; throws ApiError. 422 field errors come back through `ApiError.fieldErrors`. */
  onSubmit: (data: JsonObject) => Promise<void>;
  submitting: boolean;
  serverErrors: ServerFieldError[];
  setServerErrors: (errors: ServerFieldError[]) => void;
}

export function TaskForm({
  task,
  canAct,
  initialData,
  handle,
  secondary,
  onSubmit,
  submitting,
  serverErrors,
  setServerErrors,
}: TaskFormProps) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const raw = task.form?.schema ?? null;
  const schema = useMemo(() => (raw ? localizeSchema(raw, lang) : null), [raw, lang]);
  // The card already says what the form is; rjsf would repeat the schema's title as a header.
  const shown = useMemo(() => (schema ? { ...schema, title: undefined } : null), [schema]);
  const uiSchema = useMemo(
    () => (schema ? prepareUiSchema(schema, task.form?.ui_schema, lang) : {}),
    [schema, task.form?.ui_schema, lang],
  );
  const validator = useMemo(() => validatorFor(dialectOf(raw)), [raw]);
  const transformErrors = useMemo(() => (schema ? makeTransformErrors(schema, lang) : undefined), [schema, lang]);
  const [formData, setFormData] = useState<JsonObject>(() => initialData ?? task.data ?? {});
  const dataRef = useRef(formData);
  dataRef.current = formData;
  // rjsf's Form instance: validateForm() shows the errors exactly as a submit attempt does.
  const formRef = useRef<{ validateForm: () => boolean } | null>(null);
  const [uploading, setUploadingFields] = useState<string[]>([]);
  const setUploading = useCallback(
    (field: string, busy: boolean) =>
      setUploadingFields((list) =>
        busy === list.includes(field) ? list : busy ? [...list, field] : list.filter((f) => f !== field),
      ),
    [],
  );
  const formContext = useMemo<TaskFormContext>(() => ({ setUploading }), [setUploading]);
  useImperativeHandle(
    handle,
    () => ({
      data: () => dataRef.current,
      validate: () => {
        setAttempted(true);
        return formRef.current ? formRef.current.validateForm() : true;
      },
    }),
    [],
  );
  const [clientErrors, setClientErrors] = useState<RJSFValidationError[]>([]);
  // Validate as the person types only once they have tried to submit: no red fields up front.
  const [attempted, setAttempted] = useState(false);

  const extraErrors = useMemo(() => toErrorSchema(serverErrors, lang), [serverErrors, lang]);
  const problems = uniqueProblems([
    ...clientErrors.map((e) => ({ message: e.message ?? "", path: propertyPath(e.property) })),
    ...serverErrors.map((e) => ({ message: messageOf(e, lang), path: parsePointer(e.path) })),
  ]);

  const submit = async (data: JsonObject) => {
    setAttempted(true);
    setClientErrors([]);
    try {
      await onSubmit(data);
    } catch {
      // the page shows what went wrong; nothing to undo here
    }
  };

  const waiting = uploading.length > 0;
  const actions = canAct ? (
    <div className="form-actions">
      <Flex gap={8} className="form-actions-row">
        {secondary}
        <Button
          type="primary"
          htmlType="submit"
          size="large"
          loading={submitting}
          disabled={waiting}
          block
          className="submit-button"
        >
          {submitting ? t("task.submitting") : waiting ? t("attachments.waitForUpload") : t("task.submit")}
        </Button>
      </Flex>
    </div>
  ) : (
    <></>
  );

  if (!schema) {
    return (
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit({});
        }}
      >
        {canAct && <p>{t("task.noForm")}</p>}
        {actions}
      </form>
    );
  }

  return (
    <div className="task-form">
      <ProblemSummary
        title={
          serverErrors.length && !clientErrors.length
            ? t("task.serverRejected")
            : t("task.fixErrors", { count: problems.length })
        }
        problems={problems}
      />
      <Form
        ref={formRef as never}
        formContext={formContext}
        schema={shown ?? schema}
        uiSchema={uiSchema}
        formData={formData}
        validator={validator}
        fields={fields}
        templates={templates}
        transformErrors={transformErrors}
        extraErrors={extraErrors}
        showErrorList={false}
        focusOnFirstError
        noHtml5Validate
        readonly={!canAct}
        disabled={submitting}
        onChange={(e: IChangeEvent<JsonObject>) => {
          const next = e.formData ?? {};
          setFormData(next);
          if (serverErrors.length) {
            const kept = stillValid(serverErrors, next);
            if (kept.length !== serverErrors.length) setServerErrors(kept);
          }
          if (attempted) setClientErrors(schemaErrorsOnly(e.errors));
        }}
        liveValidate={attempted ? "onChange" : false}
        onError={(errors) => {
          setAttempted(true);
          setClientErrors(schemaErrorsOnly(errors));
        }}
        onSubmit={(e: IChangeEvent<JsonObject>) => void submit(e.formData ?? {})}
      >
        {actions}
      </Form>
    </div>
  );
}

/** Remembers a 422's field errors against the data that was sent; focuses the first field. */
export function serverErrorsFrom(errors: FieldError[], data: JsonObject): ServerFieldError[] {
  const remembered = rememberErrors(errors, data);
  const first = remembered.find((e) => e.path !== "");
  if (first) setTimeout(() => focusField(parsePointer(first.path)), 50);
  return remembered;
}
