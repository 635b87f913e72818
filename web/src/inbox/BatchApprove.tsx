// 批量同意: approve several ticked tasks at once (only those whose form needs nothing but
// "approve"), then say, task by task, what happened.
import { CheckCircleFilled, CheckOutlined, CloseCircleFilled } from "@ant-design/icons";
import { Alert, Button, Checkbox, Flex, Input, List, Modal, Typography } from "antd";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, type Task } from "../api";
import { actionErrorMessage, summarizeBatch, type BatchSummary } from "../task/actions";

/** The request's first business key (order no., station...) tells same-named tasks apart. */
function orderOf(task: Task | undefined): string {
  const first = Object.values(task?.metadata ?? {}).find((v) => typeof v === "string" || typeof v === "number");
  return first === undefined ? "" : ` · ${String(first)}`;
}

interface Props {
  tasks: Task[];
  selected: number[];
  onChange: (ids: number[]) => void;
  /** After a batch ran: the list reloads. */
  onDone: () => void;
  mobile: boolean;
}

export function BatchApproveBar({ tasks, selected, onChange, onDone, mobile }: Props) {
  const { t } = useTranslation();
  const approvable = tasks.filter((x) => x.batch_approvable);
  const [confirming, setConfirming] = useState(false);
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [summary, setSummary] = useState<BatchSummary | null>(null);
  const commentId = useId();
  if (!approvable.length && !summary) return null;
  const chosen = tasks.filter((x) => selected.includes(x.id));
  const byId = new Map(tasks.map((x) => [x.id, x] as const));
  const allTicked = approvable.length > 0 && approvable.every((x) => selected.includes(x.id));

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const res = await api.batchApprove(selected, comment);
      setSummary(summarizeBatch(res.results ?? [], t));
      setConfirming(false);
      setComment("");
      onChange([]);
    } catch (e) {
      setError(actionErrorMessage(e, t));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <div className="batch-bar" role="region" aria-label={t("batch.title")}>
        <Flex gap={8} align="center" wrap justify="space-between">
          <Flex gap={8} align="center">
            {mobile && (
              <Checkbox
                checked={allTicked}
                indeterminate={selected.length > 0 && !allTicked}
                onChange={(e) => onChange(e.target.checked ? approvable.map((x) => x.id) : [])}
                aria-label={t("batch.selectAll")}
              >
                {t("batch.selectAllShort")}
              </Checkbox>
            )}
            <Typography.Text type="secondary" aria-live="polite">
              {selected.length ? t("batch.selected", { n: selected.length }) : t("batch.hint")}
            </Typography.Text>
            {selected.length > 0 && (
              <Button type="link" size="small" onClick={() => onChange([])}>
                {t("batch.clear")}
              </Button>
            )}
          </Flex>
          <Button
            type="primary"
            icon={<CheckOutlined aria-hidden />}
            disabled={!selected.length}
            onClick={() => setConfirming(true)}
          >
            {t("batch.approve")}
            {selected.length ? ` (${selected.length})` : ""}
          </Button>
        </Flex>
      </div>
      <Modal
        open={confirming}
        title={t("batch.confirmTitle", { n: chosen.length })}
        okText={t("batch.confirm")}
        cancelText={t("common.cancel")}
        okButtonProps={{ loading: busy }}
        onOk={() => void run()}
        onCancel={() => setConfirming(false)}
        destroyOnHidden
      >
        {error && <Alert type="error" showIcon role="alert" message={error} className="block" />}
        <ul className="batch-names">
          {chosen.map((x) => (
            <li key={x.id}>
              {x.name}{" "}
              <Typography.Text type="secondary">
                #{x.process_instance_id}
                {orderOf(x)}
              </Typography.Text>
            </li>
          ))}
        </ul>
        <label htmlFor={commentId}>{t("actions.commentOptional")}</label>
        <Input.TextArea
          id={commentId}
          rows={2}
          maxLength={2000}
          value={comment}
          onChange={(e) => setComment(e.target.value)}
        />
      </Modal>
      <Modal
        open={!!summary}
        title={t("batch.resultTitle")}
        okText={t("common.ok")}
        onOk={() => {
          setSummary(null);
          onDone();
        }}
        onCancel={() => {
          setSummary(null);
          onDone();
        }}
        cancelButtonProps={{ style: { display: "none" } }}
      >
        {summary && (
          <>
            <Alert
              type={summary.failed ? (summary.ok ? "warning" : "error") : "success"}
              showIcon
              role="status"
              message={t("batch.result", { ok: summary.ok, failed: summary.failed })}
              className="block"
            />
            <List
              size="small"
              className="batch-results"
              dataSource={summary.lines}
              renderItem={(line) => (
                <List.Item>
                  <Flex gap={8} align="start">
                    {line.ok ? (
                      <CheckCircleFilled className="ok-icon" aria-label={t("batch.okLabel")} />
                    ) : (
                      <CloseCircleFilled className="fail-icon" aria-label={t("batch.failLabel")} />
                    )}
                    <span>
                      <strong>{byId.get(line.taskId)?.name ?? `#${line.taskId}`}</strong>
                      {byId.get(line.taskId) && (
                        <Typography.Text type="secondary">
                          {" "}
                          #{byId.get(line.taskId)?.process_instance_id}
                          {orderOf(byId.get(line.taskId))}
                        </Typography.Text>
                      )}{" "}
                      — {line.reason}
                    </span>
                  </Flex>
                </List.Item>
              )}
            />
          </>
        )}
      </Modal>
    </>
  );
}
