// 审计查询 (/audit): search every request one may read, export the signed records of a search as
// a ZIP, verify a record PDF. The search lives in the URL (shareable; back/forward work).
import { Alert, Empty, Flex, Grid, Pagination, Select, Spin, Tabs, Typography } from "antd";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { ApiError } from "../api/client";
import { AUDIT_SORTS, auditApi, type AuditSort, type RecordExport, type SearchBody } from "../api/audit";
import { useUser } from "../auth/AuthContext";
import "../audit/audit.css";
import { ExportButton, ExportProgressCard, RecentExports } from "../audit/Exports";
import { FilterSummary } from "../audit/FilterSummary";
import {
  formFieldOfApiField,
  PAGE_SIZES,
  readFilters,
  searchBody,
  searchQuery,
  writeFilters,
  type AuditFilters,
} from "../audit/filters";
import { auditErrorText } from "../audit/messages";
import { useMetaFields, useModelList } from "../audit/models";
import { ResultCards, ResultTable } from "../audit/Results";
import { SearchForm } from "../audit/SearchForm";
import { VerifyRecord } from "../audit/VerifyRecord";
import { useAsync } from "../lib/useAsync";
import { usePageTitle } from "../lib/usePageTitle";
import { useRegions } from "../lib/regions";

const TABS = ["search", "exports", "verify"] as const;
type AuditTab = (typeof TABS)[number];

/** Auditors, admins and HQ read every region (engine/instances/access.reads_everything). */
export function readsEverything(user: { region: string; groups: string[] }): boolean {
  return user.region === "HQ" || user.groups.includes("auditor") || user.groups.includes("admin");
}

export function AuditPage() {
  const { t } = useTranslation();
  const user = useUser();
  const mobile = !Grid.useBreakpoint().md;
  const [search, setSearch] = useSearchParams();
  const tabParam = search.get("tab");
  const tab: AuditTab = (TABS as readonly string[]).includes(tabParam ?? "") ? (tabParam as AuditTab) : "search";
  const filters = useMemo(() => readFilters(search), [search]);
  const { models } = useModelList();
  const regions = useRegions();
  usePageTitle(t("audit.title"));

  const key = JSON.stringify(searchQuery(filters));
  const results = useAsync((signal) => auditApi.search(searchQuery(filters), signal), [key]);
  const modelIds = useMemo(
    () => [...new Set([filters.process, ...(results.data?.items ?? []).map((i) => i.process_model_id)])],
    [filters.process, results.data],
  );
  const fields = useMetaFields(modelIds);

  // On a phone the form fills the screen: after a search, show the results.
  const scrollToResults = useRef(false);
  useEffect(() => {
    if (!scrollToResults.current || !results.data || results.loading) return;
    scrollToResults.current = false;
    document.getElementById("audit-results-title")?.scrollIntoView({ block: "start" });
  }, [results.data, results.loading]);

  const [current, setCurrent] = useState<RecordExport | null>(null);
  const [exportError, setExportError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const [exportsKey, setExportsKey] = useState(0);

  const go = useCallback(
    (next: AuditFilters, nextTab: AuditTab = tab) => {
      const params = writeFilters(next);
      if (nextTab !== "search") params.set("tab", nextTab);
      setSearch(params);
    },
    [setSearch, tab],
  );

  const startExport = async (body: SearchBody) => {
    setStarting(true);
    setExportError(null);
    try {
      const e = await auditApi.createExport(body);
      setCurrent(e);
      setExportsKey((k) => k + 1);
    } catch (e) {
      setExportError(auditErrorText(e, t));
    } finally {
      setStarting(false);
    }
  };

  const apiError = results.error instanceof ApiError ? results.error : null;
  const blamed =
    apiError && apiError.status === 400 && formFieldOfApiField(apiError.field)
      ? { field: formFieldOfApiField(apiError.field) as string, message: auditErrorText(apiError, t) }
      : null;
  const page = results.error ? undefined : results.data;
  const fullAccess = readsEverything(user);

  const searchTab = (
    <>
      <section aria-label={t("audit.form.title")} className="audit-search">
        <SearchForm
          filters={filters}
          models={models}
          regions={regions}
          mobile={mobile}
          blamed={blamed}
          onSearch={(f) => {
            setExportError(null);
            scrollToResults.current = mobile;
            go(f, "search");
          }}
        />
      </section>

      <section aria-labelledby="audit-results-title" className="audit-results">
        <Flex justify="space-between" align="center" wrap gap={8} className="audit-results-bar">
          <Typography.Title level={3} id="audit-results-title" className="audit-section-title">
            {page ? t("audit.results.total", { count: page.total }) : t("audit.results.heading")}
          </Typography.Title>
          <Flex gap={8} wrap align="center">
            <label className="audit-sort">
              <span className="sr-only">{t("audit.results.sort")}</span>
              <Select<AuditSort>
                value={filters.sort}
                aria-label={t("audit.results.sort")}
                style={{ minWidth: 132 }}
                onChange={(sort) => go({ ...filters, sort, page: 1 })}
                options={AUDIT_SORTS.map((s) => ({ value: s, label: t(`audit.results.sorts.${s}`) }))}
              />
            </label>
            <ExportButton total={page?.total} busy={starting} onExport={() => void startExport(searchBody(filters))} />
          </Flex>
        </Flex>
        <FilterSummary filters={filters} models={models} fields={fields.get(filters.process)} />
        {exportError && (
          <Alert
            type="error"
            showIcon
            closable
            onClose={() => setExportError(null)}
            message={t("audit.export.couldNot")}
            description={exportError}
            role="alert"
            className="audit-alert"
          />
        )}
        {current && <ExportProgressCard initial={current} models={models} onRetry={(body) => void startExport(body)} />}

        {results.error ? (
          <Alert
            type="error"
            showIcon
            role="alert"
            className="audit-alert"
            message={t("audit.results.failed")}
            description={auditErrorText(results.error, t)}
          />
        ) : !page ? (
          <Spin className="page-spin" />
        ) : page.items.length === 0 ? (
          <Empty description={t("audit.results.empty")} />
        ) : mobile ? (
          <ResultCards items={page.items} models={models} fields={fields} />
        ) : (
          <ResultTable
            items={page.items}
            models={models}
            fields={fields}
            loading={results.loading}
            sort={filters.sort}
            onSort={(sort) => go({ ...filters, sort, page: 1 })}
          />
        )}
        {page && page.total > 0 && (
          <Pagination
            className="audit-pagination"
            current={filters.page}
            pageSize={filters.perPage}
            total={page.total}
            size={mobile ? "small" : "default"}
            showSizeChanger={!mobile}
            pageSizeOptions={PAGE_SIZES.map(String)}
            onChange={(p, size) =>
              go({ ...filters, page: size !== filters.perPage ? 1 : p, perPage: size ?? filters.perPage })
            }
          />
        )}
      </section>
    </>
  );

  return (
    <div className="page audit-page">
      <header className="page-header">
        <Typography.Title level={2} className="page-title">
          {t("audit.title")}
        </Typography.Title>
        <Typography.Text type="secondary">{fullAccess ? t("audit.scopeAll") : t("audit.scopeOwn")}</Typography.Text>
      </header>
      <Tabs
        activeKey={tab}
        onChange={(k) => go(filters, k as AuditTab)}
        items={[
          { key: "search", label: t("audit.tabs.search"), children: searchTab },
          {
            key: "exports",
            label: t("audit.tabs.exports"),
            children: <RecentExports models={models} refreshKey={exportsKey} />,
          },
          { key: "verify", label: t("audit.tabs.verify"), children: <VerifyRecord models={models} /> },
        ]}
        destroyOnHidden
      />
    </div>
  );
}
