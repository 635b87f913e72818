// 抄送我的: requests someone copied me on (read-only), unread ones marked.
import { RightOutlined } from "@ant-design/icons";
import { Card, Flex, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import type { CcItem } from "../api";
import { useMetaFields } from "../audit/models";
import { MetadataSummary } from "../components/MetadataSummary";
import { Person, personText } from "../components/Person";
import { InstanceStatusTag } from "../components/Tags";
import { TimeAgo } from "../components/TimeAgo";
import { pickLanguage, regionName } from "../lib/format";
import { UnreadMark } from "./TaskList";

const unread = (item: CcItem) => !item.read_at;

export function CcCards({ items }: { items: CcItem[] }) {
  const { t, i18n } = useTranslation();
  const fields = useMetaFields(items.map((item) => item.model_id));
  return (
    <ul className="card-list" aria-label={t("inbox.tabs.cc")}>
      {items.map((item) => (
        <li key={`${item.instance_id}`}>
          <Link to={`/requests/${item.instance_id}`} className="card-link">
            <Card size="small" className={unread(item) ? "item-card unread" : "item-card"}>
              <Flex justify="space-between" align="start" gap={8}>
                <div className="item-main">
                  <Flex gap={6} align="center" wrap>
                    <UnreadMark unread={unread(item)} />
                    <Typography.Text strong className="item-title">
                      {pickLanguage(item.title, i18n.language)}
                    </Typography.Text>
                    <InstanceStatusTag status={item.status} />
                  </Flex>
                  <div className="item-sub">
                    {t("cc.by", { user: personText(item.by, item.by_name) })} · #{item.instance_id}
                  </div>
                  {item.comment && <div className="cc-comment">“{item.comment}”</div>}
                  <MetadataSummary metadata={item.metadata} max={3} fields={fields.get(item.model_id)} />
                  <Flex gap={6} wrap align="center" className="item-foot">
                    <Tag>{regionName(item.region, t)}</Tag>
                    <Typography.Text type="secondary">
                      <TimeAgo iso={item.created_at} />
                    </Typography.Text>
                  </Flex>
                </div>
                <RightOutlined aria-hidden className="item-chevron" />
              </Flex>
            </Card>
          </Link>
        </li>
      ))}
    </ul>
  );
}

export function CcTable({ items, loading }: { items: CcItem[]; loading: boolean }) {
  const { t, i18n } = useTranslation();
  const fields = useMetaFields(items.map((item) => item.model_id));
  const navigate = useNavigate();
  return (
    <Table<CcItem>
      rowKey="instance_id"
      size="middle"
      loading={loading}
      dataSource={items}
      pagination={false}
      rowClassName={(item) => (unread(item) ? "clickable-row unread" : "clickable-row")}
      onRow={(item) => ({
        onClick: (e) => !(e.target as HTMLElement).closest("a") && navigate(`/requests/${item.instance_id}`),
      })}
      columns={[
        {
          key: "request",
          title: t("inbox.columns.request"),
          render: (_, item) => (
            <div>
              <Flex gap={6} align="center" wrap>
                <UnreadMark unread={unread(item)} />
                <Link to={`/requests/${item.instance_id}`} className="task-link">
                  {pickLanguage(item.title, i18n.language)}
                </Link>
                <Typography.Text type="secondary">#{item.instance_id}</Typography.Text>
              </Flex>
              <MetadataSummary metadata={item.metadata} fields={fields.get(item.model_id)} />
            </div>
          ),
        },
        {
          key: "by",
          title: t("inbox.columns.ccBy"),
          render: (_, item) => (
            <div>
              <div>
                <Person username={item.by} name={item.by_name} />
              </div>
              {item.comment && <div className="cell-sub">“{item.comment}”</div>}
            </div>
          ),
        },
        {
          key: "status",
          title: t("inbox.columns.status"),
          width: 110,
          render: (_, item) => <InstanceStatusTag status={item.status} />,
        },
        { key: "region", title: t("inbox.columns.region"), width: 90, render: (_, item) => regionName(item.region, t) },
        {
          key: "created",
          title: t("inbox.columns.ccAt"),
          width: 130,
          render: (_, item) => <TimeAgo iso={item.created_at} />,
        },
      ]}
    />
  );
}
