// The bell in the header: unread count (polled every 30 s while the page is visible), and a
// drawer listing notifications, each leading to its task or request; mark one or all read.
import { BellOutlined, CheckOutlined } from "@ant-design/icons";
import { App, Badge, Button, Drawer, Empty, Flex, Grid, List, Segmented, Spin, Typography } from "antd";
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { api, type Notification } from "../api";
import { pickLanguage } from "../lib/format";
import { actionErrorMessage, notificationHref } from "../task/actions";
import { TimeAgo } from "./TimeAgo";

export const POLL_MS = 30_000;
const PER_PAGE = 20;

/** The unread count, refreshed every `POLL_MS` and when the page becomes visible again. */
function useUnreadCount(): [number | null, () => void] {
  const [count, setCount] = useState<number | null>(null);
  const refresh = useCallback(() => {
    api.notifications({ unread: true, per_page: 1 }).then(
      (page) => setCount(page.unread_count ?? page.total),
      () => undefined, // keep the last count; the next poll tries again
    );
  }, []);
  useEffect(() => {
    refresh();
    const timer = setInterval(() => document.visibilityState === "visible" && refresh(), POLL_MS);
    const onVisible = () => document.visibilityState === "visible" && refresh();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [refresh]);
  return [count, refresh];
}

export function NotificationCenter() {
  const { t, i18n } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const mobile = !Grid.useBreakpoint().md;
  const [count, refreshCount] = useUnreadCount();
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Notification[]>([]);
  const [total, setTotal] = useState(0);
  const [page, setPage] = useState(1);
  const [loading, setLoading] = useState(false);
  const [unreadOnly, setUnreadOnly] = useState(false);

  const load = useCallback(
    async (p: number, onlyUnread: boolean) => {
      setLoading(true);
      try {
        const res = await api.notifications({ page: p, per_page: PER_PAGE, unread: onlyUnread });
        setItems((prev) => (p === 1 ? res.items : [...prev, ...res.items]));
        setTotal(res.total);
        setPage(p);
      } catch (e) {
        message.error(actionErrorMessage(e, t));
      } finally {
        setLoading(false);
      }
    },
    [message, t],
  );

  useEffect(() => {
    if (open) void load(1, unreadOnly);
  }, [open, unreadOnly, load]);

  const markRead = async (n: Notification) => {
    if (n.read_at) return;
    const now = new Date().toISOString();
    setItems((list) => list.map((x) => (x.id === n.id ? { ...x, read_at: now } : x)));
    try {
      await api.markNotificationRead(n.id);
    } catch {
      // not worth an error: it stays unread on the server and shows so next time
    }
    refreshCount();
  };

  const markAll = async () => {
    try {
      await api.markAllNotificationsRead();
      const now = new Date().toISOString();
      setItems((list) => list.map((x) => ({ ...x, read_at: x.read_at ?? now })));
      refreshCount();
    } catch (e) {
      message.error(actionErrorMessage(e, t));
    }
  };

  const go = (n: Notification) => {
    void markRead(n);
    const href = notificationHref(n);
    if (href) {
      setOpen(false);
      navigate(href);
    }
  };

  const unread = count ?? 0;
  return (
    <>
      <Button
        type="text"
        className="bell"
        aria-label={unread ? t("notifications.bellUnread", { n: unread }) : t("notifications.bell")}
        onClick={() => {
          setOpen(true);
          refreshCount();
        }}
        icon={
          <Badge count={unread} size="small" overflowCount={99} offset={[4, -2]}>
            <BellOutlined className="bell-icon" />
          </Badge>
        }
      />
      <Drawer
        open={open}
        onClose={() => setOpen(false)}
        title={t("notifications.title")}
        placement="right"
        width={mobile ? "100%" : 420}
        className="notification-drawer"
        extra={
          <Button
            size="small"
            icon={<CheckOutlined aria-hidden />}
            onClick={() => void markAll()}
            disabled={unread === 0}
          >
            {t("notifications.markAll")}
          </Button>
        }
      >
        <Segmented
          className="notification-filter"
          value={unreadOnly ? "unread" : "all"}
          onChange={(v) => setUnreadOnly(v === "unread")}
          options={[
            { value: "all", label: t("notifications.all") },
            { value: "unread", label: t("notifications.unread") },
          ]}
        />
        {loading && items.length === 0 ? (
          <Spin className="page-spin" />
        ) : items.length === 0 ? (
          <Empty description={t("notifications.empty")} />
        ) : (
          <List
            className="notification-list"
            dataSource={items}
            loadMore={
              items.length < total ? (
                <Flex justify="center" className="load-more">
                  <Button onClick={() => void load(page + 1, unreadOnly)} loading={loading}>
                    {t("common.more")}
                  </Button>
                </Flex>
              ) : null
            }
            renderItem={(n) => {
              const href = notificationHref(n);
              const title = pickLanguage(n.title, i18n.language);
              return (
                <List.Item
                  className={n.read_at ? "notification read" : "notification unread"}
                  actions={
                    n.read_at
                      ? []
                      : [
                          <Button
                            key="read"
                            type="link"
                            size="small"
                            onClick={() => void markRead(n)}
                            aria-label={`${t("notifications.markRead")}: ${title}`}
                          >
                            {t("notifications.markRead")}
                          </Button>,
                        ]
                  }
                >
                  <div className="notification-main">
                    <Flex gap={6} align="center">
                      {!n.read_at && <span className="unread-dot" aria-hidden />}
                      {href ? (
                        <a
                          href={href}
                          onClick={(e) => {
                            e.preventDefault();
                            go(n);
                          }}
                          className="notification-title"
                        >
                          {title}
                          {!n.read_at && <span className="sr-only"> ({t("inbox.unread")})</span>}
                        </a>
                      ) : (
                        <Typography.Text strong={!n.read_at}>{title}</Typography.Text>
                      )}
                    </Flex>
                    {n.body && <div className="notification-body">{pickLanguage(n.body, i18n.language)}</div>}
                    <Typography.Text type="secondary" className="timeline-time">
                      <TimeAgo iso={n.created_at} />
                    </Typography.Text>
                  </div>
                </List.Item>
              );
            }}
          />
        )}
      </Drawer>
    </>
  );
}
