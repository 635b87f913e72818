// A read-only attachment field (a file the system made, e.g. the settlement workbook shown at the
// finance review) is a download link named after the file, with nothing to upload or remove; an
// editable one keeps its upload button.
import Form from "@rjsf/antd";
import type { RJSFSchema } from "@rjsf/utils";
import validator from "@rjsf/validator-ajv8";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import "../i18n";
import { rememberAttachmentMeta } from "../lib/attachments";
import { AttachmentsField } from "./AttachmentsField";
import { prepareUiSchema } from "./schema";

const SHA = "ab".repeat(32);
const REF = `sha256:${SHA}`;
const NAME = "电费结算对账表-JS-EAST-202603.xlsx";
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

function render(readOnly: boolean, ref = REF): string {
  const schema = {
    type: "object",
    properties: {
      reconciliation_xlsx: { type: "string", format: "attachment", title: "对账表（Excel）", readOnly, default: ref },
    },
  };
  return renderToStaticMarkup(
    <Form
      schema={schema as RJSFSchema}
      uiSchema={prepareUiSchema(schema, {})}
      fields={{ attachments: AttachmentsField }}
      validator={validator}
      formData={{ reconciliation_xlsx: ref }}
    >
      <></>
    </Form>,
  );
}

describe("AttachmentsField", () => {
  rememberAttachmentMeta(REF, { filename: NAME, size: 9281, content_type: XLSX, sha256: SHA });

  it("shows a read-only file as a download link with its name, without upload or remove", () => {
    const html = render(true);
    expect(html).toContain("对账表（Excel）");
    const link = html.match(/<a [^>]*>[^<]*<\/a>/)?.[0] ?? "";
    expect(link).toContain(`href="/api/v1/attachments/${SHA}"`);
    expect(link).toContain(`download="${NAME}"`);
    expect(link).toContain(`>${NAME}</a>`);
    expect(html).toContain("9 KB");
    expect(html).not.toContain('type="file"');
    expect(html).not.toContain("上传附件");
    expect(html).not.toContain("替换附件");
    expect(html).not.toContain("移除附件");
  });

  it("shows the short hash until the name is known", () => {
    const other = `sha256:${"cd".repeat(32)}`;
    expect(render(true, other)).toContain(">sha256:cdcdcdcd…cdcd</a>");
  });

  it("lets an editable field upload and remove", () => {
    const html = render(false);
    expect(html).toContain(`>${NAME}</a>`);
    expect(html).toContain('type="file"');
    expect(html).toContain("替换附件"); // one file: uploading another replaces it
    expect(html).toContain("移除附件");
  });
});
