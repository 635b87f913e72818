// Attachment fields hold content-addressed references (sha256:<hex>): one string, or an array of
// them, as the schema says. Files upload as soon as they are chosen; the form keeps only refs.
import type { FieldProps } from "@rjsf/utils";
import { Form } from "antd";
import { useRef } from "react";
import { AttachmentUploader } from "../components/AttachmentUploader";
import { addRefs, refsOf, removeRef } from "../lib/attachments";
import type { TaskFormContext } from "./TaskForm";

export function AttachmentsField({
  formData,
  schema,
  fieldPathId,
  required,
  onChange,
  disabled,
  readonly,
  registry,
}: FieldProps) {
  const multiple = schema.type === "array";
  const refs = refsOf(formData);
  const id = fieldPathId?.$id ?? "attachments";
  const context = registry.formContext as Partial<TaskFormContext> | undefined;
  // Two uploads may finish before the form re-renders: each adds to what the other left.
  const latest = useRef(refs);
  latest.current = refs;
  const set = (value: string | string[] | undefined) => {
    latest.current = refsOf(value);
    onChange(value, fieldPathId?.path ?? []);
  };
  return (
    <Form.Item
      label={schema.title}
      htmlFor={id}
      required={required}
      labelCol={{ span: 24 }}
      wrapperCol={{ span: 24 }}
      // A single-file field's description is shown by FieldTemplate; a list's is not.
      extra={multiple && typeof schema.description === "string" ? schema.description : undefined}
    >
      <div className="attachments-field">
        <AttachmentUploader
          id={id}
          refs={refs}
          multiple={multiple}
          disabled={disabled}
          readOnly={readonly}
          onAdd={(ref) => set(addRefs(latest.current, [ref], multiple))}
          onRemove={(ref) => set(removeRef(latest.current, ref, multiple))}
          onBusyChange={(busy) => context?.setUploading?.(id, busy)}
        />
      </div>
    </Form.Item>
  );
}
