// Attachment fields hold content-addressed references (sha256:<hex>). Uploading arrives with the
// attachments API; until then the field lists what is there and says plainly it can't add more.
import type { FieldProps } from "@rjsf/utils";
import { Form, Typography } from "antd";
import { useTranslation } from "react-i18next";

export function AttachmentsField({ formData, schema, fieldPathId, required }: FieldProps) {
  const { t } = useTranslation();
  const refs: string[] = Array.isArray(formData)
    ? formData.filter((x) => typeof x === "string")
    : formData
      ? [String(formData)]
      : [];
  const id = fieldPathId?.$id ?? "attachments";
  return (
    <Form.Item label={schema.title} required={required} labelCol={{ span: 24 }} wrapperCol={{ span: 24 }}>
      <div id={id} className="attachments-field">
        {refs.length === 0 ? (
          <Typography.Text type="secondary">{t("attachments.none")}</Typography.Text>
        ) : (
          <ul>
            {refs.map((r) => (
              <li key={r}>
                <Typography.Text code copyable={{ text: r }}>{`${r.slice(0, 19)}…`}</Typography.Text>
              </li>
            ))}
          </ul>
        )}
        <Typography.Paragraph type="secondary" className="attachments-note">
          {t("attachments.uploadLater")}
        </Typography.Paragraph>
      </div>
    </Form.Item>
  );
}
