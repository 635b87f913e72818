import { FilterOutlined, ReloadOutlined } from "@ant-design/icons";
import { Badge, Button, Flex, Input, Select, Switch } from "antd";
import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import type { ProcessModel } from "../api";
import { pickLanguage, regionName } from "../lib/format";
import { useRegions } from "../lib/regions";
import { filterable, INSTANCE_SORTS, SLA_FILTERS, TASK_SORTS, type InboxParams } from "./params";

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
  const active = [params.process, params.region, params.sort, can.sla && params.sla].filter(Boolean).length;

  const selects = (
    <>
      <Select
        aria-label={t("inbox.process")}
        className="filter-select"
        value={params.process}
        onChange={(v) => onChange({ process: v, page: 1 })}
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
      {mobile && open && can.selects && (
        <Flex vertical gap={8} className="filters-panel">
          {selects}
        </Flex>
      )}
    </div>
  );
}
