// antd's rjsf FieldTemplate shows `ui:help` *instead of* a field's errors; a person must see
// what is wrong, so errors go in Form.Item's help (announced, red) and description + help
// below the input. Ids match what rjsf's widgets put in aria-describedby.
import { descriptionId, errorId, getTemplate, getUiOptions, helpId, type FieldTemplateProps } from "@rjsf/utils";
import { Form } from "antd";

export function FieldTemplate(props: FieldTemplateProps) {
  const {
    children,
    displayLabel,
    hidden,
    id,
    label,
    rawDescription,
    rawErrors,
    rawHelp,
    registry,
    required,
    schema,
    uiSchema,
  } = props;
  const uiOptions = getUiOptions(uiSchema);
  const WrapIfAdditionalTemplate = getTemplate("WrapIfAdditionalTemplate", registry, uiOptions);
  if (hidden) return <div className="rjsf-field-hidden">{children}</div>;
  // The browser and the server may word the same problem identically: say it once.
  const errors = [...new Set((rawErrors ?? []).filter(Boolean))];
  const isBox = schema.type === "object" || schema.type === "array";
  const extra =
    rawDescription || rawHelp ? (
      <>
        {rawDescription && !isBox && <div id={descriptionId(id)}>{rawDescription}</div>}
        {rawHelp && <div id={helpId(id)}>{rawHelp}</div>}
      </>
    ) : undefined;
  return (
    <WrapIfAdditionalTemplate {...props}>
      <Form.Item
        htmlFor={id}
        label={displayLabel && uiOptions.widget !== "checkbox" ? label : undefined}
        required={required}
        labelCol={{ span: 24 }}
        wrapperCol={{ span: 24 }}
        validateStatus={errors.length ? "error" : undefined}
        help={
          errors.length ? (
            <div id={errorId(id)} role="alert">
              {errors.map((e) => (
                <div key={e}>{e}</div>
              ))}
            </div>
          ) : undefined
        }
        extra={extra}
      >
        {children}
      </Form.Item>
    </WrapIfAdditionalTemplate>
  );
}
