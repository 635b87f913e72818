// The dialogs behind the task actions (转交 / 加签 / 退回 / 抄送 / 催办). Each says what will
// happen before it happens, names its fields, and keeps the server's objections in view:
// a 400 lands on its field, a 409 goes back to the page ("someone else acted").
import { Alert, Button, Form, Input, Modal, Radio, Space, Spin, Typography, type FormInstance } from "antd";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError, type AddPosition, type AddSign, type JsonObject, type SendBackTarget } from "../api";
import { PersonPicker } from "../components/PersonPicker";
import { formatDateTime } from "../lib/time";
import { actionErrorMessage } from "./actions";

export interface DialogCommon {
  open: boolean;
  onClose: () => void;
  /** After success: the page says so and reloads or leaves. */
  onDone: (summary: string) => void;
  /** A 409: the task changed under us. */
  onConflict: () => void;
}

const DIALOG_FIELDS = ["to", "users", "comment", "position", "sign"];

interface ActionModalProps<V> extends Omit<DialogCommon, "onDone"> {
  form: FormInstance<V>;
  title: string;
  okText: string;
  danger?: boolean;
  intro?: ReactNode;
  /** Runs the action; throws what the API threw. Return false to stay open without an error. */
  run: (values: V) => Promise<boolean | void>;
  /** A 422 with field errors (后加签's form): handled by the page. */
  onValidation?: (error: ApiError) => void;
  okDisabled?: boolean;
  children: ReactNode;
  name: string;
}

function ActionModal<V extends object>({
  open,
  onClose,
  onConflict,
  form,
  title,
  okText,
  danger,
  intro,
  run,
  onValidation,
  okDisabled,
  children,
  name,
}: ActionModalProps<V>) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (open) setError(null);
  }, [open]);

  const submit = async () => {
    let values: V;
    try {
      values = await form.validateFields();
    } catch {
      return; // antd shows the field errors
    }
    setBusy(true);
    setError(null);
    try {
      await run(values);
    } catch (e) {
      if (e instanceof ApiError && e.isConflict) {
        onConflict();
        return;
      }
      if (e instanceof ApiError && e.isValidation && e.fieldErrors.length && onValidation) {
        onValidation(e);
        return;
      }
      // A 400 names the body field it refused: mark that field too (the alert says why).
      const field = e instanceof ApiError ? e.field : null;
      if (field && DIALOG_FIELDS.includes(field))
        form.setFields([{ name: field as never, errors: [actionErrorMessage(e, t)] }]);
      setError(actionErrorMessage(e, t));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title={title}
      okText={okText}
      cancelText={t("common.cancel")}
      okButtonProps={{ danger, loading: busy, disabled: okDisabled }}
      onOk={() => void submit()}
      onCancel={onClose}
      destroyOnHidden
      className="action-dialog"
    >
      {intro && <Typography.Paragraph type="secondary">{intro}</Typography.Paragraph>}
      {error && <Alert type="error" showIcon role="alert" message={error} className="block" />}
      <Form form={form} layout="vertical" name={name} requiredMark onFinish={() => void submit()}>
        {children}
      </Form>
    </Modal>
  );
}

const COMMENT_MAX = 2000;

function CommentInput({
  required = false,
  label,
  max = COMMENT_MAX,
}: {
  required?: boolean;
  label?: string;
  max?: number;
}) {
  const { t } = useTranslation();
  return (
    <Form.Item
      name="comment"
      label={label ?? (required ? t("actions.comment") : t("actions.commentOptional"))}
      rules={required ? [{ required: true, whitespace: true, message: t("actions.commentRequired") }] : []}
    >
      <Input.TextArea rows={3} maxLength={max} showCount />
    </Form.Item>
  );
}

// ---- 转交 transfer --------------------------------------------------------------------

export function TransferDialog({ taskId, me, ...common }: DialogCommon & { taskId: number; me: string }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ to: string; comment?: string }>();
  return (
    <ActionModal
      {...common}
      name="transfer"
      form={form}
      title={t("actions.transfer.title")}
      okText={t("actions.transfer.ok")}
      intro={t("actions.transfer.intro")}
      run={async ({ to, comment }) => {
        await api.transfer(taskId, to, comment);
        common.onDone(t("actions.transfer.done", { user: to }));
      }}
    >
      <Form.Item name="to" label={t("actions.transfer.to")} rules={[{ required: true, message: t("people.required") }]}>
        <PersonPicker exclude={[me]} />
      </Form.Item>
      <CommentInput />
    </ActionModal>
  );
}

// ---- 加签 add approver ------------------------------------------------------------------

export interface AddApproverValues {
  users: string[];
  position: AddPosition;
  sign: AddSign;
  comment?: string;
}

export function AddApproverDialog({
  taskId,
  me,
  formData,
  validateForm,
  onValidation,
  ...common
}: DialogCommon & {
  taskId: number;
  me: string;
  /** The form as typed: sent with "after". */
  formData: () => JsonObject;
  /** Validates the form in the browser (showing its errors); false keeps the dialog open. */
  validateForm: () => boolean;
  onValidation: (error: ApiError, data: JsonObject) => void;
}) {
  const { t } = useTranslation();
  const [form] = Form.useForm<AddApproverValues>();
  const position = Form.useWatch("position", form) ?? "before";
  const users = Form.useWatch("users", form) ?? [];
  const [formProblem, setFormProblem] = useState(false);
  useEffect(() => {
    if (common.open) setFormProblem(false);
  }, [common.open]);
  const sentData = useRef<JsonObject>({});
  return (
    <ActionModal
      {...common}
      name="add-approver"
      form={form}
      title={t("actions.addApprover.title")}
      okText={position === "after" ? t("actions.addApprover.okAfter") : t("actions.addApprover.ok")}
      onValidation={(e) => onValidation(e, sentData.current)}
      run={async ({ users: chosen, position: pos, sign, comment }) => {
        setFormProblem(false);
        let data: JsonObject | undefined;
        if (pos === "after") {
          if (!validateForm()) {
            setFormProblem(true);
            return false;
          }
          data = formData();
          sentData.current = data;
        }
        await api.addApprover(taskId, { users: chosen, position: pos, sign, comment, ...(data ? { data } : {}) });
        common.onDone(
          pos === "after"
            ? t("actions.addApprover.doneAfter")
            : t("actions.addApprover.doneBefore", { count: chosen.length }),
        );
      }}
    >
      {formProblem && (
        <Alert
          type="error"
          showIcon
          role="alert"
          message={t("actions.addApprover.fixForm")}
          action={
            <Button
              size="small"
              onClick={() => {
                common.onClose();
                // Once the dialog is gone, take them to the first problem.
                setTimeout(validateForm, 300);
              }}
            >
              {t("actions.addApprover.goFix")}
            </Button>
          }
          className="block"
        />
      )}
      <Form.Item
        name="users"
        label={t("actions.addApprover.users")}
        rules={[{ required: true, type: "array", min: 1, message: t("people.requiredMany") }]}
      >
        <PersonPicker multiple exclude={[me]} />
      </Form.Item>
      <Form.Item name="position" label={t("actions.addApprover.position")} initialValue="before">
        <Radio.Group>
          <Space direction="vertical">
            <Radio value="before">
              <strong>{t("addApprover.position.before")}</strong>
              <div className="option-help">{t("actions.addApprover.beforeHelp")}</div>
            </Radio>
            <Radio value="after">
              <strong>{t("addApprover.position.after")}</strong>
              <div className="option-help">{t("actions.addApprover.afterHelp")}</div>
            </Radio>
          </Space>
        </Radio.Group>
      </Form.Item>
      <Form.Item
        name="sign"
        label={t("actions.addApprover.sign")}
        initialValue="all"
        extra={users.length < 2 ? t("actions.addApprover.signOne") : undefined}
      >
        <Radio.Group>
          <Space direction="vertical">
            <Radio value="all">
              <strong>{t("addApprover.sign.all")}</strong>
              <div className="option-help">{t("actions.addApprover.allHelp")}</div>
            </Radio>
            <Radio value="any">
              <strong>{t("addApprover.sign.any")}</strong>
              <div className="option-help">{t("actions.addApprover.anyHelp")}</div>
            </Radio>
          </Space>
        </Radio.Group>
      </Form.Item>
      <CommentInput />
    </ActionModal>
  );
}

// ---- 退回 send back ---------------------------------------------------------------------

export function SendBackDialog({ taskId, ...common }: DialogCommon & { taskId: number }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ to: string; comment: string }>();
  const [targets, setTargets] = useState<SendBackTarget[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  useEffect(() => {
    if (!common.open) return;
    let live = true;
    setTargets(null);
    setLoadError(null);
    api.sendBackTargets(taskId).then(
      (list) => {
        if (!live) return;
        setTargets(list);
        if (list.length) form.setFieldValue("to", list[0].bpmn_id);
      },
      (e: unknown) => live && setLoadError(actionErrorMessage(e, t)),
    );
    return () => {
      live = false;
    };
  }, [common.open, taskId, form, t]);
  const chosen = Form.useWatch("to", form);
  const target = targets?.find((x) => x.bpmn_id === chosen);
  return (
    <ActionModal
      {...common}
      name="send-back"
      form={form}
      title={t("actions.sendBack.title")}
      okText={t("actions.sendBack.ok")}
      danger
      okDisabled={!targets?.length}
      intro={t("actions.sendBack.intro")}
      run={async ({ to, comment }) => {
        await api.sendBack(taskId, to, comment);
        common.onDone(t("actions.sendBack.done", { step: target?.name ?? to }));
      }}
    >
      {loadError && <Alert type="error" showIcon role="alert" message={loadError} className="block" />}
      {!targets && !loadError && <Spin />}
      {targets && targets.length === 0 && (
        <Alert type="info" showIcon message={t("actions.sendBack.none")} className="block" />
      )}
      {targets && targets.length > 0 && (
        <Form.Item name="to" label={t("actions.sendBack.to")} rules={[{ required: true }]}>
          <Radio.Group className="target-list">
            <Space direction="vertical">
              {targets.map((x) => (
                <Radio key={x.bpmn_id} value={x.bpmn_id}>
                  <strong>{x.name}</strong>
                  {(x.completed_by || x.completed_at) && (
                    <div className="option-help">
                      {[x.completed_by, formatDateTime(x.completed_at)].filter(Boolean).join(" · ")}
                    </div>
                  )}
                </Radio>
              ))}
            </Space>
          </Radio.Group>
        </Form.Item>
      )}
      <CommentInput required label={t("actions.sendBack.comment")} />
    </ActionModal>
  );
}

// ---- 抄送 CC ----------------------------------------------------------------------------

export function CcDialog({
  run,
  me,
  ...common
}: DialogCommon & { me: string; run: (users: string[], comment?: string) => Promise<unknown> }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ users: string[]; comment?: string }>();
  return (
    <ActionModal
      {...common}
      name="cc"
      form={form}
      title={t("actions.cc.title")}
      okText={t("actions.cc.ok")}
      intro={t("actions.cc.intro")}
      run={async ({ users, comment }) => {
        await run(users, comment);
        common.onDone(t("actions.cc.done", { count: users.length }));
      }}
    >
      <Form.Item
        name="users"
        label={t("actions.cc.users")}
        rules={[{ required: true, type: "array", min: 1, message: t("people.requiredMany") }]}
      >
        <PersonPicker multiple exclude={[me]} />
      </Form.Item>
      <CommentInput />
    </ActionModal>
  );
}

// ---- 催办 urge --------------------------------------------------------------------------

export function UrgeDialog({ run, ...common }: DialogCommon & { run: (comment?: string) => Promise<unknown> }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ comment?: string }>();
  return (
    <ActionModal
      {...common}
      name="urge"
      form={form}
      title={t("actions.urge.title")}
      okText={t("actions.urge.ok")}
      intro={t("actions.urge.intro")}
      run={async ({ comment }) => {
        await run(comment);
        common.onDone(t("actions.urge.done"));
      }}
    >
      <CommentInput max={500} />
    </ActionModal>
  );
}
