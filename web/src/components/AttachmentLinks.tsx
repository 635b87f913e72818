// Download links for attachment refs: the file's name and size once its meta is known, the
// shortened SHA-256 (the full one on hover and for copying) so it can be checked against a record.
import { PaperClipOutlined } from "@ant-design/icons";
import { Typography } from "antd";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { attachmentUrl, type AttachmentMeta } from "../api";
import { formatBytes, knownAttachmentMeta, loadAttachmentMeta, shortRef } from "../lib/attachments";

export function useAttachmentMeta(ref: string): AttachmentMeta | null | undefined {
  const [meta, setMeta] = useState<AttachmentMeta | null | undefined>(() => knownAttachmentMeta(ref));
  useEffect(() => {
    let live = true;
    setMeta(knownAttachmentMeta(ref));
    void loadAttachmentMeta(ref).then((m) => live && setMeta(m));
    return () => {
      live = false;
    };
  }, [ref]);
  return meta;
}

/** One file: a download link named after the file, its size, and its short hash. */
export function AttachmentLink({ refId }: { refId: string }) {
  const { t } = useTranslation();
  const meta = useAttachmentMeta(refId);
  const name = meta?.filename ?? shortRef(refId);
  return (
    <span className="attachment-link">
      <PaperClipOutlined aria-hidden />
      <a href={attachmentUrl(refId)} download={meta?.filename ?? true} aria-label={t("attachments.download", { name })}>
        {name}
      </a>
      {meta && <span className="muted"> · {formatBytes(meta.size)}</span>}
      {meta && (
        <Typography.Text type="secondary" className="attachment-hash" copyable={{ text: refId }} title={refId}>
          {shortRef(refId)}
        </Typography.Text>
      )}
    </span>
  );
}

export function AttachmentLinks({ refs }: { refs: string[] }) {
  const { t } = useTranslation();
  if (!refs.length) return null;
  return (
    <ul className="attachment-links" aria-label={t("attachments.count", { count: refs.length })}>
      {refs.map((r) => (
        <li key={r}>
          <AttachmentLink refId={r} />
        </li>
      ))}
    </ul>
  );
}
