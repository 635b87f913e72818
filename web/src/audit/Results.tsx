// Search results: a table on desktops (sortable by creation time, paged), cards on phones.
// Every request links to its page and to its signed PDF record (下载记录).
import { FilePdfOutlined } from "@ant-design/icons";
import { Card, Flex, Table, Tag, Tooltip, Typography } from "antd";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { recordPdfUrl, type AuditInstance, type AuditModel, type AuditSort } from "../api/audit";
import { Person, personText } from "../components/Person";
import { InstanceStatusTag } from "../components/Tags";
import { pickLanguage } from "../lib/bilingual";
import { formatValue, regionName } from "../lib/format";
import { formatDateTime } from "../lib/time";
import type { MetaField } from "./metaFields";
import { metaLabel, modelName } from "./models";

const LIVE = new Set(["running", "waiting"]);

interface Props {
  items: AuditInstance[];
  models: AuditModel[];
  fields: Map<string, MetaField[]>;
  loading: boolean;
  sort: AuditSort;
  onSort: (sort: AuditSort) => void;
}

/** The request's business keys (station, order no., amount...), labelled as its forms name them. */
function KeyMetadata({
  inst,
  fields,
  max = 4,
}: {
  inst: AuditInstance;
  fields: MetaField[] | undefined;
  max?: number;
}) {
  const { t, i18n } = useTranslation();
  const entries = Object.entries(inst.metadata ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== "");
  if (!entries.length) return null;
  // The model's own order of its metadata (process_model.json) when known.
  const order = (k: string) => {
    const i = fields?.findIndex((f) => f.key === k) ?? -1;
    return i < 0 ? 999 : i;
  };
  entries.sort(([a], [b]) => order(a) - order(b));
  return (
    <dl className="audit-meta-list">
      {entries.slice(0, max).map(([key, value]) => (
        <div key={key} className="audit-meta-item">
          <dt>{metaLabel(key, fields, t, i18n.language)}</dt>
          <dd>{formatValue(value, t, i18n.language)}</dd>
        </div>
      ))}
    </dl>
  );
}

function RecordLink({ inst, t }: { inst: AuditInstance; t: TFunction }) {
  const live = LIVE.has(inst.status);
  return (
    <Tooltip title={live ? t("audit.results.interimHint") : t("audit.results.downloadHint")}>
      <a
        href={recordPdfUrl(inst.id)}
        download={`request-${inst.id}-${live ? "interim" : "record"}.pdf`}
        className="audit-record-link"
        aria-label={t("audit.results.downloadFor", { id: inst.id })}
      >
        <FilePdfOutlined aria-hidden /> {t("audit.results.download")}
        {live && <span className="audit-interim">{t("audit.results.interim")}</span>}
      </a>
    </Tooltip>
  );
}

export function ResultTable({ items, models, fields, loading, sort, onSort }: Props) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const createdOrder = sort === "created" ? "ascend" : sort === "-created" ? "descend" : null;
  return (
    <Table<AuditInstance>
      rowKey="id"
      size="middle"
      className="audit-table"
      loading={loading}
      dataSource={items}
      pagination={false}
      scroll={{ x: 1100 }}
      onChange={(_p, _f, sorter) => {
        const s = Array.isArray(sorter) ? sorter[0] : sorter;
        if (s?.columnKey === "created") onSort(s.order === "ascend" ? "created" : "-created");
      }}
      columns={[
        {
          key: "id",
          title: t("audit.results.id"),
          width: 80,
          render: (_, inst) => <Link to={`/requests/${inst.id}`}>#{inst.id}</Link>,
        },
        {
          key: "title",
          title: t("audit.results.title"),
          render: (_, inst) => (
            <div className="audit-title-cell">
              <Link to={`/requests/${inst.id}`} className="task-link">
                {pickLanguage(inst.title, lang)}
              </Link>
              <KeyMetadata inst={inst} fields={fields.get(inst.process_model_id)} />
            </div>
          ),
        },
        {
          key: "process",
          title: t("audit.results.process"),
          width: 170,
          render: (_, inst) => modelName(inst.process_model_id, models, lang),
        },
        {
          key: "region",
          title: t("audit.results.region"),
          width: 80,
          render: (_, inst) => regionName(inst.region, t),
        },
        {
          key: "status",
          title: t("audit.results.status"),
          width: 96,
          render: (_, inst) => <InstanceStatusTag status={inst.status} />,
        },
        {
          key: "initiator",
          title: t("audit.results.initiator"),
          width: 110,
          render: (_, inst) => <Person username={inst.initiator} name={inst.initiator_name} />,
        },
        {
          key: "created",
          title: t("audit.results.created"),
          width: 150,
          sorter: true,
          sortOrder: createdOrder,
          sortDirections: ["descend", "ascend", "descend"],
          render: (_, inst) => <time dateTime={inst.created_at}>{formatDateTime(inst.created_at)}</time>,
        },
        {
          key: "completed",
          title: t("audit.results.completed"),
          width: 150,
          render: (_, inst) =>
            inst.completed_at ? (
              <time dateTime={inst.completed_at}>{formatDateTime(inst.completed_at)}</time>
            ) : (
              <Typography.Text type="secondary">{t("common.none")}</Typography.Text>
            ),
        },
        {
          key: "actions",
          title: t("audit.results.actions"),
          width: 150,
          fixed: "right",
          render: (_, inst) => <RecordLink inst={inst} t={t} />,
        },
      ]}
    />
  );
}

export function ResultCards({ items, models, fields }: Pick<Props, "items" | "models" | "fields">) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <ul className="card-list audit-cards" aria-label={t("audit.results.listLabel")}>
      {items.map((inst) => (
        <li key={inst.id}>
          <Card size="small" className="item-card">
            <Flex gap={8} align="center" wrap justify="space-between">
              <Link to={`/requests/${inst.id}`} className="audit-card-title">
                <Typography.Text strong>{pickLanguage(inst.title, lang)}</Typography.Text>{" "}
                <Typography.Text type="secondary">#{inst.id}</Typography.Text>
              </Link>
              <InstanceStatusTag status={inst.status} />
            </Flex>
            <KeyMetadata inst={inst} fields={fields.get(inst.process_model_id)} max={3} />
            <Flex gap={6} wrap align="center" className="item-foot">
              <Tag>{regionName(inst.region, t)}</Tag>
              <Typography.Text type="secondary">{modelName(inst.process_model_id, models, lang)}</Typography.Text>
            </Flex>
            <div className="audit-card-times">
              <span>
                {t("audit.results.initiator")} {personText(inst.initiator, inst.initiator_name)}
              </span>
              <span>
                {t("audit.results.created")} <time dateTime={inst.created_at}>{formatDateTime(inst.created_at)}</time>
              </span>
              {inst.completed_at && (
                <span>
                  {t("audit.results.completed")}{" "}
                  <time dateTime={inst.completed_at}>{formatDateTime(inst.completed_at)}</time>
                </span>
              )}
            </div>
            <Flex gap={16} className="audit-card-actions">
              <Link to={`/requests/${inst.id}`}>{t("audit.results.open")}</Link>
              <RecordLink inst={inst} t={t} />
            </Flex>
          </Card>
        </li>
      ))}
    </ul>
  );
}
