import { FilterOutlined, ReloadOutlined } from "@ant-design/icons";
import { Badge, Button, Flex, Input, Select, Switch } from "antd";
import { useEffect, useId, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import type { ProcessModel } from "../api";
import { AmountRangeInput, type AmountBoundsValue } from "../audit/AmountRangeInput";
import { amountBounds, hasAmountRange, typedAmountRange, type AmountProblem } from "../audit/amountRange";
import { defaultAmountKey, visibleFields } from "../audit/metaFields";
import { metaLabel, useMetaFields } from "../audit/models";
import { useUser } from "../auth/AuthContext";
import { pickLanguage, regionName } from "../lib/format";
import { useRegions } from "../lib/regions";
import { filterable, INSTANCE_SORTS, processPatch, SLA_FILTERS, TASK_SORTS, type InboxParams } from "./params";
import "./inbox.css";

const FALLBACK_REGIONS = ["HQ", "EAST", "SOUTH", "NORTH", "WEST"];
const SORT_LABELS: Record<string, string> = {
  "-created": "inbox.sortNewest",
  created: "inbox.sortOldest",
  due: "inbox.sortDueSoon",
  "-due": "inbox.sortDueLate",
  "-updated": "inbox.sortUpdated",
};

interface Props {
  params: InboxParams;
  models: ProcessModel[];
  mobile: boolean;
  onChange: (patch: Partial<InboxParams>) => void;
  onRefresh: () => void;
  loading: boolean;
}

export function Filters({ params, models, mobile, onChange, onRefresh, loading }: Props) {
  const { t, i18n } = useTranslation();
  const [q, setQ] = useState(params.q);
  const [open, setOpen] = useState(false);
  const loaded = useRegions();
  const regions = loaded.length ? loaded.map((r) => r.code) : FALLBACK_REGIONS;
  useEffect(() => setQ(params.q), [params.q]);
  const unreadId = useId();
  const can = filterable(params.tab);
  const instances = params.tab === "started";
  const sorts = instances ? INSTANCE_SORTS : TASK_SORTS;
  const active = [
    params.process,
    params.region,
    params.sort,
    can.sla && params.sla,
    hasAmountRange(params.amount),
  ].filter(Boolean).length;

  // With a process chosen: a range on its amount field (the one the audit search offers first),
  // among the fields this user may see; the process model's files say which (GET /process-models/<id>).
  const groups = useUser().groups;
  const chosen = can.selects ? params.process : "";
  const byModel = useMetaFields(chosen ? [chosen] : []);
  const fields = useMemo(
    () => visibleFields(chosen ? (byModel.get(chosen) ?? []) : [], groups),
    [chosen, byModel, groups],
  );
  const amountKey = chosen ? params.amount.key || defaultAmountKey(fields) : "";
  const amountLabel = amountKey ? metaLabel(amountKey, fields, t, i18n.language) : "";
  const [bounds, setBounds] = useState<AmountBoundsValue>({ min: params.amount.min, max: params.amount.max });
  const [problem, setProblem] = useState<AmountProblem | null>(null);
  useEffect(() => {
    setBounds({ min: params.amount.min, max: params.amount.max });
    setProblem(null);
  }, [params.amount.key, params.amount.min, params.amount.max, chosen]);
  const applyAmount = (typed: AmountBoundsValue) => {
    const { range, problem: wrong } = typedAmountRange(amountKey, typed.min, typed.max);
    setProblem(wrong);
    if (!range) return;
    // Only a change of what is asked moves the URL (leaving the boxes untouched does not).
    if (JSON.stringify(amountBounds(range)) !== JSON.stringify(amountBounds(params.amount)))
      onChange({ amount: range, page: 1 });
  };
  const amount = amountKey ? (
    <div className="filter-amount">
      <span className="filter-amount-label" aria-hidden>
        {amountLabel}
      </span>
      <AmountRangeInput
        className="filter-amount-inputs"
        label={t("inbox.amountRange", { field: amountLabel })}
        minLabel={t("inbox.amountMin")}
        maxLabel={t("inbox.amountMax")}
        value={bounds}
        onChange={(v) => {
          setBounds(v);
          setProblem(null);
        }}
        onCommit={applyAmount}
        status={problem ? "error" : undefined}
      />
      {problem && (
        <div role="alert" className="filter-amount-error">
          {t(`inbox.amountProblem.${problem}`)}
        </div>
      )}
    </div>
  ) : null;

  const selects = (
    <>
      <Select
        aria-label={t("inbox.process")}
        className="filter-select"
        value={params.process}
        onChange={(v) => onChange(processPatch(v))}
        options={[
          { value: "", label: t("inbox.allProcesses") },
          ...models.map((m) => ({ value: m.id, label: pickLanguage(m.display_name, i18n.language) })),
        ]}
        popupMatchSelectWidth={false}
      />
      <Select
        aria-label={t("inbox.region")}
        className="filter-select"
        value={params.region}
        onChange={(v) => onChange({ region: v, page: 1 })}
        options={[
          { value: "", label: t("inbox.allRegions") },
          ...regions.map((r) => ({ value: r, label: regionName(r, t) })),
        ]}
      />
      {can.sla && (
        <Select
          aria-label={t("inbox.sla")}
          className="filter-select"
          value={params.sla}
          onChange={(v) => onChange({ sla: v, page: 1 })}
          options={[
            { value: "", label: t("inbox.slaFilter.all") },
            ...SLA_FILTERS.map((s) => ({ value: s, label: t(`inbox.slaFilter.${s}`) })),
          ]}
          popupMatchSelectWidth={false}
        />
      )}
      <Select
        aria-label={t("inbox.sort")}
        className="filter-select"
        value={(sorts as readonly string[]).includes(params.sort) ? params.sort : "-created"}
        onChange={(v) => onChange({ sort: v === "-created" ? "" : v, page: 1 })}
        options={sorts.map((s) => ({ value: s, label: t(SORT_LABELS[s]) }))}
      />
    </>
  );

  return (
    <div className="filters" role="search">
      <Flex gap={8} align="center">
        {params.tab === "cc" && (
          <Flex gap={8} align="center" className="unread-toggle">
            <Switch id={unreadId} checked={params.unread} onChange={(v) => onChange({ unread: v, page: 1 })} />
            <label htmlFor={unreadId}>{t("inbox.unreadOnly")}</label>
          </Flex>
        )}
        {can.search && (
          <Input.Search
            aria-label={t("inbox.searchLabel")}
            placeholder={t("inbox.search")}
            allowClear
            value={q}
            onChange={(e) => {
              setQ(e.target.value);
              if (!e.target.value && params.q) onChange({ q: "", page: 1 });
            }}
            onSearch={(v) => onChange({ q: v.trim(), page: 1 })}
            enterButton={mobile ? undefined : true}
            className="filter-search"
          />
        )}
        {!can.selects ? (
          <span className="filters-spacer" />
        ) : mobile ? (
          <Badge count={active} size="small">
            <Button icon={<FilterOutlined />} aria-expanded={open} onClick={() => setOpen((o) => !o)}>
              {t("inbox.filters")}
            </Button>
          </Badge>
        ) : (
          selects
        )}
        <Button icon={<ReloadOutlined />} aria-label={t("inbox.refresh")} onClick={onRefresh} loading={loading} />
      </Flex>
      {!mobile && amount}
      {mobile && open && can.selects && (
        <Flex vertical gap={8} className="filters-panel">
          {selects}
          {amount}
        </Flex>
      )}
    </div>
  );
}
