// Uploads files (POST /attachments, with progress) and keeps their `sha256:<hex>` refs. Files are
// checked first against the server's limits, so nobody waits for an upload that will be refused.
import { DeleteOutlined, UploadOutlined } from "@ant-design/icons";
import { App, Button, Progress, Typography, Upload, type UploadProps } from "antd";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError } from "../api";
import { ACCEPT, formatBytes, MAX_ATTACHMENT_BYTES, precheckFile, rememberAttachmentMeta } from "../lib/attachments";
import { actionErrorMessage } from "../task/actions";
import { AttachmentLink } from "./AttachmentLinks";

type UploadRequestOption = Parameters<NonNullable<UploadProps["customRequest"]>>[0];

interface Pending {
  uid: string;
  name: string;
  percent: number;
  error?: string;
}

interface Props {
  /** The id of the file input (so a <label for> names it). */
  id?: string;
  refs: string[];
  /** Called with every finished upload's ref; the owner decides single vs. many. */
  onAdd: (ref: string) => void;
  onRemove: (ref: string) => void;
  multiple?: boolean;
  disabled?: boolean;
  readOnly?: boolean;
  /** Uploads in flight: a submit should wait for them. */
  onBusyChange?: (busy: boolean) => void;
}

export function AttachmentUploader({
  id,
  refs,
  onAdd,
  onRemove,
  multiple = true,
  disabled = false,
  readOnly = false,
  onBusyChange,
}: Props) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [pending, setPending] = useState<Pending[]>([]);

  const busy = pending.some((p) => !p.error);
  // Callbacks as of the latest render: an upload that ends later adds to the current value.
  const latest = useRef({ onAdd, onBusyChange });
  latest.current = { onAdd, onBusyChange };
  useEffect(() => latest.current.onBusyChange?.(busy), [busy]);

  const update = (uid: string, patch: Partial<Pending> | null) =>
    setPending((list) =>
      patch === null ? list.filter((p) => p.uid !== uid) : list.map((p) => (p.uid === uid ? { ...p, ...patch } : p)),
    );

  const customRequest = (options: UploadRequestOption) => {
    const file = options.file as File & { uid: string };
    setPending((list) => [...list, { uid: file.uid, name: file.name, percent: 0 }]);
    api.uploadAttachment(file, { onProgress: (percent) => update(file.uid, { percent }) }).then(
      (att) => {
        rememberAttachmentMeta(att.ref, {
          filename: att.filename,
          size: att.size,
          content_type: att.content_type,
          sha256: att.sha256,
        });
        update(file.uid, null);
        latest.current.onAdd(att.ref);
        options.onSuccess?.(att);
      },
      (e: unknown) => {
        const serverMax = e instanceof ApiError ? (e.details as { max_bytes?: unknown } | null)?.max_bytes : undefined;
        const reason =
          e instanceof ApiError && e.isTooLarge
            ? t("attachments.tooLarge", {
                name: file.name,
                max: formatBytes(typeof serverMax === "number" ? serverMax : MAX_ATTACHMENT_BYTES),
              })
            : e instanceof ApiError && e.isUnsupportedType
              ? t("attachments.typeNotAllowed", { name: file.name })
              : actionErrorMessage(e, t);
        update(file.uid, { error: reason });
        options.onError?.(e as Error);
      },
    );
  };

  const beforeUpload = (file: File) => {
    const problem = precheckFile(file);
    if (!problem) return true;
    const text =
      problem.code === "too_large"
        ? t("attachments.tooLarge", { name: file.name, max: formatBytes(problem.max) })
        : problem.code === "empty"
          ? t("attachments.empty", { name: file.name })
          : t("attachments.typeNotAllowed", { name: file.name });
    message.error(text);
    return Upload.LIST_IGNORE;
  };

  return (
    <div className="attachment-uploader">
      {refs.length === 0 && pending.length === 0 && readOnly && (
        <Typography.Text type="secondary">{t("attachments.none")}</Typography.Text>
      )}
      {(refs.length > 0 || pending.length > 0) && (
        <ul className="attachment-list">
          {refs.map((r) => (
            <li key={r} className="attachment-row">
              <AttachmentLink refId={r} />
              {!readOnly && (
                <Button
                  type="text"
                  size="small"
                  danger
                  icon={<DeleteOutlined aria-hidden />}
                  disabled={disabled}
                  onClick={() => onRemove(r)}
                  aria-label={t("attachments.remove")}
                  title={t("attachments.remove")}
                />
              )}
            </li>
          ))}
          {pending.map((p) => (
            <li key={p.uid} className="attachment-row pending" aria-live="polite">
              <span className="attachment-name">{p.name}</span>
              {p.error ? (
                <>
                  <Typography.Text type="danger" role="alert">
                    {p.error}
                  </Typography.Text>
                  <Button type="link" size="small" onClick={() => update(p.uid, null)}>
                    {t("attachments.dismiss")}
                  </Button>
                </>
              ) : (
                <Progress
                  percent={p.percent}
                  size="small"
                  className="attachment-progress"
                  aria-label={t("attachments.uploading", { name: p.name })}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      {!readOnly && (
        <>
          <Upload
            id={id}
            accept={ACCEPT}
            multiple={multiple}
            showUploadList={false}
            beforeUpload={beforeUpload}
            customRequest={customRequest}
            disabled={disabled}
          >
            <Button icon={<UploadOutlined aria-hidden />} disabled={disabled} loading={busy}>
              {multiple || refs.length === 0 ? t("attachments.upload") : t("attachments.replace")}
            </Button>
          </Upload>
          <Typography.Paragraph type="secondary" className="attachments-note">
            {t("attachments.limits", { max: formatBytes(MAX_ATTACHMENT_BYTES) })}
          </Typography.Paragraph>
        </>
      )}
    </div>
  );
}
