import { PlusOutlined } from "@ant-design/icons";
import { App, Badge, Button, Empty, Grid, Pagination, Spin, Tabs, Typography } from "antd";
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router";
import { api, ApiError, type CcItem, type Instance, type Page, type ProcessModel, type Task } from "../api";
import { useUser } from "../auth/AuthContext";
import { ErrorState } from "../components/ErrorState";
import { BatchApproveBar } from "../inbox/BatchApprove";
import { CcCards, CcTable } from "../inbox/CcList";
import { Filters } from "../inbox/Filters";
import { InstanceCards, InstanceTable } from "../inbox/InstanceList";
import {
  ccQuery,
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
import { actionErrorMessage } from "../task/actions";

type Counts = Partial<Record<InboxTab, number>>;

/** Totals for the tab badges: GET /inbox/counts (mine, group, unread CCs, my open requests);
 * servers without it get one small query per tab instead. */
function useCounts(username: string, refreshKey: number): Counts {
  const [counts, setCounts] = useState<Counts>({});
  useEffect(() => {
    let live = true;
    const one = { page: 1, per_page: 1 };
    const total = (p: Promise<{ total: number }>) => p.then((r) => r.total).catch(() => undefined);
    api.inboxCounts().then(
      (c) => live && setCounts({ mine: c.mine, group: c.group, cc: c.cc_unread, started: c.started_open }),
      () =>
        void Promise.all([
          total(api.tasks({ scope: "mine", status: "open", ...one })),
          total(api.tasks({ scope: "group", status: "open", ...one })),
          total(api.instances({ initiator: username, ...one })),
        ]).then(([mine, group, started]) => live && setCounts({ mine, group, started })),
    );
    return () => {
      live = false;
    };
  }, [username, refreshKey]);
  return counts;
}

type Rows =
  | { kind: "tasks"; page: Page<Task> }
  | { kind: "instances"; page: Page<Instance> }
  | { kind: "cc"; page: Page<CcItem> };

/** Gray badges count what needs no action from me; blue ones what does. */
const ACTION_TABS: InboxTab[] = ["mine", "group"];

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
        : params.tab === "cc"
          ? { kind: "cc", page: await api.cc(ccQuery(params), signal) }
          : { kind: "tasks", page: await api.tasks(taskQuery(params), signal) },
    [key, refreshKey],
  );
  const counts = useCounts(user.username, refreshKey);
  const { message } = App.useApp();
  const [selected, setSelected] = useState<number[]>([]);
  const [claiming, setClaiming] = useState<number | null>(null);
  // A selection belongs to the list it was made on.
  useEffect(() => setSelected([]), [key]);

  const claim = async (task: Task) => {
    setClaiming(task.id);
    try {
      await api.claim(task.id);
      message.success(t("claim.claimedName", { name: task.name }));
      setRefreshKey((k) => k + 1);
    } catch (e) {
      message.error(e instanceof ApiError && e.isConflict ? t("claim.taken") : actionErrorMessage(e, t));
      setRefreshKey((k) => k + 1);
    } finally {
      setClaiming(null);
    }
  };

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
        : params.tab === "cc"
          ? t("inbox.emptyCc")
          : params.tab === "group"
            ? t("inbox.emptyGroup")
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
    if (data.kind === "cc") {
      return mobile ? <CcCards items={data.page.items} /> : <CcTable items={data.page.items} loading={rows.loading} />;
    }
    const controls = {
      selection:
        (params.tab === "mine" || params.tab === "group") && data.page.items.some((x) => x.batch_approvable)
          ? { selected, onChange: setSelected }
          : undefined,
      onClaim: params.tab === "group" ? (task: Task) => void claim(task) : undefined,
      claiming,
    };
    return (
      <>
        {(params.tab === "mine" || params.tab === "group") && (
          <BatchApproveBar
            tasks={data.page.items}
            selected={selected}
            onChange={setSelected}
            onDone={refresh}
            mobile={mobile}
          />
        )}
        {mobile ? (
          <TaskCards tasks={data.page.items} done={params.tab === "done"} {...controls} />
        ) : (
          <TaskTable tasks={data.page.items} done={params.tab === "done"} loading={rows.loading} {...controls} />
        )}
      </>
    );
  };

  return (
    <div className="page inbox">
      <Typography.Title level={2} className="sr-only">
        {t("inbox.title")}
      </Typography.Title>
      <Tabs
        activeKey={params.tab}
        tabBarGutter={mobile ? 12 : undefined}
        onChange={(tab) =>
          update({
            tab: tab as InboxTab,
            page: 1,
            sort: "",
            q: tab === "started" || tab === "cc" ? "" : params.q,
            unread: false,
          })
        }
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
                  color={ACTION_TABS.includes(tab) ? undefined : tab === "cc" ? "#1668dc" : "#6b6b6b"}
                  className="tab-badge"
                  aria-label={
                    tab === "cc" ? t("inbox.unreadCount", { n: counts[tab] }) : t("inbox.total", { count: counts[tab] })
                  }
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
