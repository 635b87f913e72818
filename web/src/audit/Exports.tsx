// 导出 ZIP: the signed records of the current search as one ZIP, built in the background.
// The progress bar polls GET /record-exports/<id> every 1.5 s until done (download) or failed;
// "我的导出" lists my latest 20 exports with their state.
import { DownloadOutlined, FileZipOutlined, ReloadOutlined, SearchOutlined } from "@ant-design/icons";
import { Alert, Button, Card, Empty, Flex, List, Progress, Space, Spin, Tag, Typography } from "antd";
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import {
  auditApi,
  exportDownloadUrl,
  exportPercent,
  isActiveExport,
  pollExport,
  type AuditModel,
  type ExportStatus,
  type RecordExport,
  type SearchBody,
} from "../api/audit";
import { formatBytes } from "../lib/attachments";
import { formatDateTime } from "../lib/time";
import { FilterSummary } from "./FilterSummary";
import { filtersFromBody, MAX_EXPORT, writeFilters } from "./filters";
import { auditErrorText } from "./messages";

const POLL_MS = 1500;
const STATUS_COLORS: Record<ExportStatus, string> = {
  queued: "default",
  running: "processing",
  done: "success",
  failed: "error",
};

export function ExportStatusTag({ status }: { status: ExportStatus }) {
  const { t } = useTranslation();
  return <Tag color={STATUS_COLORS[status] ?? "default"}>{t(`audit.export.status.${status}`)}</Tag>;
}

/** Follows an export until it is done or failed (polling), reporting every state. */
function useExportProgress(initial: RecordExport): { exp: RecordExport; retrying: boolean; lost: string | null } {
  const { t } = useTranslation();
  const [exp, setExp] = useState(initial);
  const [retrying, setRetrying] = useState(false);
  const [lost, setLost] = useState<string | null>(null);
  useEffect(() => setExp(initial), [initial]);
  const active = isActiveExport(exp);
  useEffect(() => {
    if (!active) return;
    const controller = new AbortController();
    setLost(null);
    pollExport(
      initial.id,
      (e) => {
        setRetrying(false);
        setExp(e);
      },
      { intervalMs: POLL_MS, signal: controller.signal, onRetry: () => setRetrying(true) },
    ).catch((e: unknown) => {
      if (e instanceof DOMException && e.name === "AbortError") return;
      setRetrying(false);
      setLost(auditErrorText(e, t));
    });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [initial.id, active]);
  return { exp, retrying, lost };
}

function ProgressBody({ exp, retrying, lost }: { exp: RecordExport; retrying: boolean; lost: string | null }) {
  const { t } = useTranslation();
  const percent = exportPercent(exp);
  return (
    <div className="audit-export-body">
      {exp.status !== "failed" && (
        <Progress
          percent={percent}
          status={exp.status === "done" ? "success" : "active"}
          aria-label={t("audit.export.progressLabel", { id: exp.id })}
        />
      )}
      <div aria-live="polite" className="audit-export-state">
        {exp.status === "queued" && <Typography.Text type="secondary">{t("audit.export.queuedHint")}</Typography.Text>}
        {exp.status === "running" && (
          <Typography.Text>{t("audit.export.progress", { done: exp.done, total: exp.total })}</Typography.Text>
        )}
        {exp.status === "done" && (
          <Flex gap={12} wrap align="center">
            <Button
              type="primary"
              icon={<DownloadOutlined aria-hidden />}
              href={exportDownloadUrl(exp.id)}
              download={`records-${exp.id}.zip`}
            >
              {t("audit.export.download")}
            </Button>
            <Typography.Text type="secondary">
              {t("audit.export.doneSummary", { total: exp.total, size: formatBytes(exp.size ?? 0) })}
            </Typography.Text>
            {exp.sha256 && (
              <Typography.Text type="secondary" className="audit-sha" copyable={{ text: exp.sha256 }}>
                SHA-256 {exp.sha256.slice(0, 12)}…
              </Typography.Text>
            )}
          </Flex>
        )}
        {exp.status === "failed" && (
          <Alert type="error" showIcon message={t("audit.export.failed")} description={exp.error || undefined} />
        )}
        {retrying && <Typography.Text type="warning">{t("audit.export.pollRetry")}</Typography.Text>}
        {lost && <Alert type="warning" showIcon message={t("audit.export.pollLost")} description={lost} />}
      </div>
    </div>
  );
}

/** One export followed live (after 导出 ZIP on the search tab). */
export function ExportProgressCard({
  initial,
  models,
  onRetry,
}: {
  initial: RecordExport;
  models: AuditModel[];
  onRetry: (filters: SearchBody) => void;
}) {
  const { t } = useTranslation();
  const { exp, retrying, lost } = useExportProgress(initial);
  return (
    <Card
      size="small"
      className="audit-export-card"
      title={
        <Space>
          <FileZipOutlined aria-hidden />
          {t("audit.export.title", { id: exp.id })}
          <ExportStatusTag status={exp.status} />
        </Space>
      }
      extra={
        exp.status === "failed" && (
          <Button size="small" icon={<ReloadOutlined aria-hidden />} onClick={() => onRetry(exp.filters)}>
            {t("audit.export.retry")}
          </Button>
        )
      }
    >
      <FilterSummary filters={filtersFromBody(exp.filters)} models={models} />
      <ProgressBody exp={exp} retrying={retrying} lost={lost} />
      <Typography.Paragraph type="secondary" className="audit-export-note">
        {t("audit.export.note")}
      </Typography.Paragraph>
    </Card>
  );
}

/** The 导出 ZIP button of the search results, with what it exports and why it cannot. */
export function ExportButton({
  total,
  busy,
  onExport,
}: {
  total: number | undefined;
  busy: boolean;
  onExport: () => void;
}) {
  const { t } = useTranslation();
  const tooMany = (total ?? 0) > MAX_EXPORT;
  const none = total === 0;
  return (
    <Space wrap size={8}>
      <Button
        icon={<FileZipOutlined aria-hidden />}
        loading={busy}
        disabled={total === undefined || none || tooMany}
        onClick={onExport}
      >
        {total ? t("audit.export.buttonCount", { count: total }) : t("audit.export.button")}
      </Button>
      {tooMany && (
        <Typography.Text type="warning">{t("audit.export.errors.tooMany", { max: MAX_EXPORT })}</Typography.Text>
      )}
    </Space>
  );
}

function ExportRow({ initial, models }: { initial: RecordExport; models: AuditModel[] }) {
  const { t } = useTranslation();
  const { exp, retrying, lost } = useExportProgress(initial);
  const filters = filtersFromBody(exp.filters);
  const search = writeFilters(filters).toString();
  return (
    <List.Item className="audit-export-row">
      <div className="audit-export-row-main">
        <Flex gap={8} wrap align="center">
          <Typography.Text strong>{t("audit.export.title", { id: exp.id })}</Typography.Text>
          <ExportStatusTag status={exp.status} />
          <Typography.Text type="secondary">
            <time dateTime={exp.created_at}>{formatDateTime(exp.created_at)}</time>
          </Typography.Text>
          <Link to={`/audit${search ? `?${search}` : ""}`} className="audit-search-again">
            <SearchOutlined aria-hidden /> {t("audit.export.searchAgain")}
          </Link>
        </Flex>
        <FilterSummary filters={filters} models={models} />
        <ProgressBody exp={exp} retrying={retrying} lost={lost} />
      </div>
    </List.Item>
  );
}

/** 我的导出: my latest 20 exports (GET /record-exports), the running ones followed live. */
export function RecentExports({ models, refreshKey }: { models: AuditModel[]; refreshKey: number }) {
  const { t } = useTranslation();
  const [items, setItems] = useState<RecordExport[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    auditApi.exports(controller.signal).then(
      (list) => {
        setItems(list);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (e instanceof DOMException && e.name === "AbortError") return;
        setError(auditErrorText(e, t));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [tick, refreshKey, t]);

  return (
    <section aria-labelledby="audit-exports-title" className="audit-exports">
      <Flex justify="space-between" align="center" wrap gap={8}>
        <Typography.Title level={3} id="audit-exports-title" className="audit-section-title">
          {t("audit.export.recent")}
        </Typography.Title>
        <Button icon={<ReloadOutlined aria-hidden />} onClick={reload} loading={loading}>
          {t("audit.export.refresh")}
        </Button>
      </Flex>
      {error && <Alert type="error" showIcon message={error} />}
      {items === null && !error ? (
        <Spin className="page-spin" />
      ) : items && items.length === 0 ? (
        <Empty description={t("audit.export.recentEmpty")} />
      ) : (
        <List
          className="audit-export-list"
          dataSource={items ?? []}
          rowKey="id"
          renderItem={(e) => <ExportRow key={e.id} initial={e} models={models} />}
        />
      )}
    </section>
  );
}
