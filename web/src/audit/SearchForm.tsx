// The audit search form. It edits a draft; 查询 writes the draft to the URL (the page reads the
// search from there), so the form always shows what the URL says after back/forward.
import { DeleteOutlined, DownOutlined, PlusOutlined, SearchOutlined, UpOutlined } from "@ant-design/icons";
import { AutoComplete, Button, Col, DatePicker, Form, Input, Row, Select, Space } from "antd";
import dayjs, { type Dayjs } from "dayjs";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { AUDIT_STATUSES, type AuditModel, type AuditStatus } from "../api/audit";
import type { Region } from "../api/types";
import { useUser } from "../auth/AuthContext";
import { PersonPicker } from "../components/PersonPicker";
import { pickLanguage } from "../lib/bilingual";
import { regionName } from "../lib/format";
import { AmountRangeInput, type AmountBoundsValue } from "./AmountRangeInput";
import { amountProblem, normalizeNumber } from "./amountRange";
import { EMPTY_FILTERS, filterProblems, type AuditFilters } from "./filters";
import { defaultAmountKey, visibleFields, type MetaField } from "./metaFields";
import { metaLabel, useMetaFields } from "./models";

interface FormValues {
  process?: string;
  region?: string;
  status?: AuditStatus[];
  dates?: [Dayjs | null, Dayjs | null];
  amountKey?: string;
  amount?: Partial<AmountBoundsValue>;
  meta?: { key?: string; value?: string }[];
  participant?: string;
  q?: string;
}

const DAY = "YYYY-MM-DD";

function toValues(f: AuditFilters): FormValues {
  return {
    process: f.process || undefined,
    region: f.region || undefined,
    status: f.status,
    dates: f.from || f.to ? [f.from ? dayjs(f.from) : null, f.to ? dayjs(f.to) : null] : undefined,
    amountKey: f.amountKey || undefined,
    amount: { min: f.amountMin, max: f.amountMax },
    meta: f.meta.length ? f.meta.map(([key, value]) => ({ key, value })) : [],
    participant: f.participant || undefined,
    q: f.q,
  };
}

function toFilters(v: FormValues, base: AuditFilters): AuditFilters {
  const min = normalizeNumber(v.amount?.min ?? "");
  const max = normalizeNumber(v.amount?.max ?? "");
  return {
    ...EMPTY_FILTERS,
    process: v.process ?? "",
    region: v.region ?? "",
    status: v.status ?? [],
    from: v.dates?.[0]?.format(DAY) ?? "",
    to: v.dates?.[1]?.format(DAY) ?? "",
    amountKey: min || max ? (v.amountKey ?? "") : "",
    amountMin: min,
    amountMax: max,
    meta: (v.meta ?? [])
      .map((m) => [(m.key ?? "").trim(), (m.value ?? "").trim()] as [string, string])
      .filter(([k, val]) => k && val),
    participant: v.participant ?? "",
    q: (v.q ?? "").trim(),
    sort: base.sort,
    perPage: base.perPage,
    page: 1,
  };
}

/** Which advanced criteria (amount, metadata, person) are set: they open the "more" section. */
const hasAdvanced = (f: AuditFilters) => Boolean(f.amountKey || f.meta.length || f.participant);

interface Props {
  filters: AuditFilters;
  models: AuditModel[];
  regions: Region[];
  mobile: boolean;
  /** The form field the server blamed (400 `error.details.field`), with its message. */
  blamed: { field: string; message: string } | null;
  onSearch: (filters: AuditFilters) => void;
}

type ErrorField = "process" | "region" | "status" | "dates" | "q" | "amountKey" | "amount" | "participant" | "meta";
type Errors = Partial<Record<ErrorField, string>>;

export function SearchForm({ filters, models, regions, mobile, blamed, onSearch }: Props) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const groups = useUser().groups;
  const [form] = Form.useForm<FormValues>();
  const [more, setMore] = useState(() => !mobile || hasAdvanced(filters));
  const [errors, setErrors] = useState<Errors>({});
  const process = Form.useWatch("process", form);
  const amountKey = Form.useWatch("amountKey", form);
  const fieldsByModel = useMetaFields(process ? [process] : []);
  const fields: MetaField[] = useMemo(
    () => visibleFields(process ? (fieldsByModel.get(process) ?? []) : [], groups),
    [process, fieldsByModel, groups],
  );

  // The URL is the truth: show it whenever it changes (a search, back, a shared link).
  const urlKey = JSON.stringify({ ...filters, page: 0 });
  useEffect(() => {
    form.resetFields();
    form.setFieldsValue(toValues(filters));
    setErrors({});
    if (hasAdvanced(filters)) setMore(true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [urlKey]);

  // A process chosen: offer its (first) amount field for the range.
  useEffect(() => {
    if (!fields.length || form.getFieldValue("amountKey")) return;
    const key = defaultAmountKey(fields);
    if (key) form.setFieldValue("amountKey", key);
  }, [fields, form, urlKey]);

  // The server's objection (400 naming a field) shows on that field until the next search.
  const shown: Errors = { ...errors, ...(blamed ? { [blamed.field as ErrorField]: blamed.message } : {}) };
  const status = (f: ErrorField) => (shown[f] ? { validateStatus: "error" as const, help: shown[f] } : {});

  const submit = (values: FormValues) => {
    const next = toFilters(values, filters);
    const found: Errors = {};
    if (amountProblem(values.amount?.min ?? "", values.amount?.max ?? "") === "number")
      found.amount = t("audit.form.problems.amountNumber");
    for (const p of filterProblems(next)) {
      if (p.field === "dates") found.dates = t("audit.form.problems.datesRange");
      else if (p.field === "amount" && p.problem === "key") found.amountKey = t("audit.form.problems.amountKey");
      else if (p.field === "amount") found.amount ??= t("audit.form.problems.amountRange");
      else if (p.field === "meta")
        found.meta = t(p.problem === "comma" ? "audit.form.problems.metaComma" : "audit.form.problems.metaKey", {
          key: p.key,
        });
    }
    setErrors(found);
    if (Object.keys(found).length) return;
    onSearch(next);
  };

  const reset = () => {
    form.resetFields();
    form.setFieldsValue(toValues(EMPTY_FILTERS));
    setErrors({});
    onSearch({ ...EMPTY_FILTERS, sort: filters.sort, perPage: filters.perPage });
  };

  const col = { xs: 24, sm: 12, lg: 8 };
  const amountOptions = [
    ...fields.filter((f) => f.numeric),
    // a key from a shared link that the model does not list (or before its fields arrive)
    ...(amountKey && !fields.some((f) => f.key === amountKey)
      ? [{ key: amountKey, path: amountKey, numeric: true }]
      : []),
  ].map((f) => ({ value: f.key, label: metaLabel(f.key, fields, t, lang) }));
  const metaOptions = fields.map((f) => ({ value: f.key, label: `${metaLabel(f.key, fields, t, lang)}（${f.key}）` }));

  return (
    <Form<FormValues>
      form={form}
      layout="vertical"
      className="audit-form"
      onFinish={submit}
      initialValues={toValues(filters)}
      aria-label={t("audit.form.title")}
      requiredMark={false}
    >
      <Row gutter={[16, 0]}>
        <Col {...col}>
          <Form.Item name="process" label={t("audit.form.process")} {...status("process")}>
            <Select
              allowClear
              showSearch
              optionFilterProp="label"
              placeholder={t("audit.form.processAny")}
              options={models.map((m) => ({ value: m.id, label: pickLanguage(m.display_name, lang) }))}
              onChange={() => form.setFieldValue("amountKey", undefined)}
            />
          </Form.Item>
        </Col>
        <Col {...col} xs={12}>
          <Form.Item name="region" label={t("audit.form.region")} {...status("region")}>
            <Select
              allowClear
              placeholder={t("audit.form.regionAny")}
              options={regions.map((r) => ({ value: r.code, label: regionName(r.code, t) }))}
            />
          </Form.Item>
        </Col>
        <Col {...col} xs={12}>
          <Form.Item name="status" label={t("audit.form.status")} {...status("status")}>
            <Select
              mode="multiple"
              maxTagCount="responsive"
              allowClear
              placeholder={t("audit.form.statusAny")}
              options={AUDIT_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
            />
          </Form.Item>
        </Col>
        <Col {...col}>
          <Form.Item
            name="dates"
            label={t("audit.form.dates")}
            extra={shown.dates ? undefined : t("audit.form.datesHint")}
            {...status("dates")}
          >
            <DatePicker.RangePicker
              allowEmpty={[true, true]}
              format={DAY}
              style={{ width: "100%" }}
              placeholder={[t("audit.form.dateFrom"), t("audit.form.dateTo")]}
              // Enter confirms the typed date; it must not also submit the search half-typed.
              onKeyDown={(e) => e.key === "Enter" && e.preventDefault()}
            />
          </Form.Item>
        </Col>
        <Col xs={24} sm={24} lg={16}>
          <Form.Item name="q" label={t("audit.form.q")} {...status("q")}>
            <Input allowClear maxLength={200} placeholder={t("audit.form.qPlaceholder")} enterKeyHint="search" />
          </Form.Item>
        </Col>
      </Row>

      {mobile && (
        <Button
          type="link"
          className="audit-more"
          onClick={() => setMore((m) => !m)}
          aria-expanded={more}
          aria-controls="audit-more-fields"
          icon={more ? <UpOutlined aria-hidden /> : <DownOutlined aria-hidden />}
        >
          {more ? t("audit.form.less") : t("audit.form.more")}
        </Button>
      )}

      <div id="audit-more-fields" hidden={mobile && !more}>
        <Row gutter={[16, 0]}>
          <Col {...col}>
            <Form.Item
              name="amountKey"
              label={t("audit.form.amountKey")}
              extra={!process && !shown.amountKey ? t("audit.form.amountNeedsProcess") : undefined}
              {...status("amountKey")}
            >
              <Select
                allowClear
                disabled={!process && !amountKey}
                placeholder={t("audit.form.amountKeyPlaceholder")}
                options={amountOptions}
                notFoundContent={t("audit.form.noAmountFields")}
              />
            </Form.Item>
          </Col>
          <Col {...col}>
            <Form.Item label={t("audit.form.amount")} {...status("amount")}>
              <Form.Item name="amount" noStyle>
                <AmountRangeInput
                  label={t("audit.form.amount")}
                  minLabel={t("audit.form.amountMin")}
                  maxLabel={t("audit.form.amountMax")}
                  status={shown.amount ? "error" : undefined}
                />
              </Form.Item>
            </Form.Item>
          </Col>
          <Col {...col}>
            <Form.Item
              name="participant"
              label={t("audit.form.participant")}
              extra={shown.participant ? undefined : t("audit.form.participantHint")}
              {...status("participant")}
            >
              <PersonPicker aria-label={t("audit.form.participant")} placeholder={t("audit.form.participantAny")} />
            </Form.Item>
          </Col>
        </Row>

        <fieldset className="audit-meta">
          <legend>{t("audit.form.meta")}</legend>
          <Form.List name="meta">
            {(items, { add, remove }) => (
              <>
                {items.map(({ key, name }) => (
                  <Space.Compact key={key} block className="audit-meta-row">
                    <Form.Item name={[name, "key"]} noStyle>
                      <AutoComplete
                        options={metaOptions}
                        aria-label={t("audit.form.metaKey")}
                        placeholder={t("audit.form.metaKey")}
                        className="audit-meta-key"
                        filterOption={(input, option) =>
                          String(option?.label ?? "")
                            .toLowerCase()
                            .includes(input.toLowerCase())
                        }
                      />
                    </Form.Item>
                    <Form.Item name={[name, "value"]} noStyle>
                      <Input aria-label={t("audit.form.metaValue")} placeholder={t("audit.form.metaValue")} />
                    </Form.Item>
                    <Button
                      icon={<DeleteOutlined aria-hidden />}
                      aria-label={t("audit.form.removeMeta")}
                      onClick={() => remove(name)}
                    />
                  </Space.Compact>
                ))}
                {shown.meta && (
                  <div role="alert" className="audit-error-line">
                    {shown.meta}
                  </div>
                )}
                <Button
                  type="dashed"
                  icon={<PlusOutlined aria-hidden />}
                  onClick={() => add({ key: fields.find((f) => !f.numeric)?.key ?? "", value: "" })}
                >
                  {t("audit.form.addMeta")}
                </Button>
                {!process && <div className="audit-hint">{t("audit.form.metaHint")}</div>}
              </>
            )}
          </Form.List>
        </fieldset>
      </div>

      <Space className="audit-form-actions" wrap>
        <Button type="primary" htmlType="submit" icon={<SearchOutlined aria-hidden />}>
          {t("audit.form.search")}
        </Button>
        <Button onClick={reset}>{t("audit.form.reset")}</Button>
      </Space>
    </Form>
  );
}
