import { PlusOutlined } from "@ant-design/icons";
import { Badge, Button, Empty, Grid, Pagination, Spin, Tabs, Typography } from "antd";
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router";
import { api, type Instance, type Page, type ProcessModel, type Task } from "../api";
import { useUser } from "../auth/AuthContext";
import { ErrorState } from "../components/ErrorState";
import { Filters } from "../inbox/Filters";
import { InstanceCards, InstanceTable } from "../inbox/InstanceList";
import {
  instanceQuery,
  PER_PAGE,
  readParams,
  taskQuery,
  TABS,
  writeParams,
  type InboxParams,
  type InboxTab,
} from "../inbox/params";
import { rememberInbox } from "../inbox/lastInbox";
import { TaskCards, TaskTable } from "../inbox/TaskList";
import { useAsync } from "../lib/useAsync";
import { usePageTitle } from "../lib/usePageTitle";

type Counts = Partial<Record<InboxTab, number>>;

/** Totals for the tab badges (one small query per tab, unfiltered). */
function useCounts(username: string, refreshKey: number): Counts {
  const [counts, setCounts] = useState<Counts>({});
  useEffect(() => {
    let live = true;
    const one = { page: 1, per_page: 1 };
    const total = (p: Promise<{ total: number }>) => p.then((r) => r.total).catch(() => undefined);
    void Promise.all([
      total(api.tasks({ scope: "mine", status: "open", ...one })),
      total(api.tasks({ scope: "group", status: "open", ...one })),
      total(api.instances({ initiator: username, ...one })),
      total(api.tasks({ scope: "mine", status: "completed", ...one })),
    ]).then(([mine, group, started, done]) => live && setCounts({ mine, group, started, done }));
    return () => {
      live = false;
    };
  }, [username, refreshKey]);
  return counts;
}

type Rows = { kind: "tasks"; page: Page<Task> } | { kind: "instances"; page: Page<Instance> };

export function InboxPage() {
  const { t } = useTranslation();
  const user = useUser();
  const mobile = !Grid.useBreakpoint().md;
  const navigate = useNavigate();
  const [search, setSearch] = useSearchParams();
  const params = readParams(search);
  const [refreshKey, setRefreshKey] = useState(0);
  usePageTitle(t(`inbox.tabs.${params.tab}`));

  const models = useAsync<ProcessModel[]>(() => api.processModels(), []);
  const key = JSON.stringify(params);
  const rows = useAsync<Rows>(
    async (signal) =>
      params.tab === "started"
        ? { kind: "instances", page: await api.instances(instanceQuery(params, user.username), signal) }
        : { kind: "tasks", page: await api.tasks(taskQuery(params), signal) },
    [key, refreshKey],
  );
  const counts = useCounts(user.username, refreshKey);

  const update = useCallback(
    (patch: Partial<InboxParams>) => setSearch(writeParams({ ...readParams(search), ...patch })),
    [search, setSearch],
  );
  const refresh = () => setRefreshKey((k) => k + 1);

  useEffect(() => rememberInbox(`/inbox${search.size ? `?${search.toString()}` : ""}`), [search]);

  // Coming back to the tab (e.g. after approving on another device) shows fresh work.
  useEffect(() => {
    const onVisible = () => document.visibilityState === "visible" && setRefreshKey((k) => k + 1);
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, []);

  const data = rows.data;
  const total = data?.page.total ?? 0;
  const emptyText =
    params.tab === "started"
      ? t("inbox.emptyStarted")
      : params.tab === "done"
        ? t("inbox.emptyDone")
        : t("inbox.empty");

  const list = () => {
    if (rows.error && !data) return <ErrorState error={rows.error} onRetry={rows.reload} />;
    if (!data) return <Spin className="page-spin" />;
    if (data.page.items.length === 0) {
      return (
        <Empty description={emptyText} className="inbox-empty">
          {(params.tab === "started" || params.tab === "mine") && (
            <Button type="primary" icon={<PlusOutlined aria-hidden />} onClick={() => navigate("/start")}>
              {t("inbox.startOne")}
            </Button>
          )}
        </Empty>
      );
    }
    if (data.kind === "instances") {
      return mobile ? (
        <InstanceCards instances={data.page.items} />
      ) : (
        <InstanceTable instances={data.page.items} loading={rows.loading} />
      );
    }
    return mobile ? (
      <TaskCards tasks={data.page.items} done={params.tab === "done"} />
    ) : (
      <TaskTable tasks={data.page.items} done={params.tab === "done"} loading={rows.loading} />
    );
  };

  return (
    <div className="page inbox">
      <Typography.Title level={2} className="sr-only">
        {t("inbox.title")}
      </Typography.Title>
      <Tabs
        activeKey={params.tab}
        tabBarGutter={mobile ? 20 : undefined}
        onChange={(tab) => update({ tab: tab as InboxTab, page: 1, sort: "", q: tab === "started" ? "" : params.q })}
        items={TABS.map((tab) => ({
          key: tab,
          label: (
            <span className="tab-label" title={tab === "group" ? t("inbox.tabHelp.group") : undefined}>
              {t(mobile ? `inbox.tabsShort.${tab}` : `inbox.tabs.${tab}`)}
              {counts[tab] !== undefined && (
                <Badge
                  count={counts[tab]}
                  showZero={false}
                  overflowCount={99}
                  color={tab === "mine" || tab === "group" ? undefined : "#8c8c8c"}
                  className="tab-badge"
                  aria-label={t("inbox.total", { count: counts[tab] })}
                />
              )}
            </span>
          ),
        }))}
      />
      <Filters
        params={params}
        models={models.data ?? []}
        mobile={mobile}
        onChange={update}
        onRefresh={refresh}
        loading={rows.loading}
      />
      <div aria-live="polite" aria-busy={rows.loading} className="inbox-list">
        {list()}
      </div>
      {total > PER_PAGE && (
        <Pagination
          className="inbox-pagination"
          current={params.page}
          pageSize={PER_PAGE}
          total={total}
          simple={mobile}
          showSizeChanger={false}
          showTotal={mobile ? undefined : (n) => t("inbox.total", { count: n })}
          onChange={(page) => {
            update({ page });
            window.scrollTo({ top: 0 });
          }}
        />
      )}
    </div>
  );
}
