import { RightOutlined } from "@ant-design/icons";
import { Card, Flex, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import type { Instance } from "../api";
import { useMetaFields } from "../audit/models";
import { MetadataSummary } from "../components/MetadataSummary";
import { InstanceStatusTag } from "../components/Tags";
import { TimeAgo } from "../components/TimeAgo";
import { pickLanguage, regionName } from "../lib/format";

export function InstanceCards({ instances }: { instances: Instance[] }) {
  const { t, i18n } = useTranslation();
  const fields = useMetaFields(instances.map((inst) => inst.process_model_id));
  return (
    <ul className="card-list" aria-label={t("inbox.tabs.started")}>
      {instances.map((inst) => (
        <li key={inst.id}>
          <Link to={`/requests/${inst.id}`} className="card-link">
            <Card size="small" className="item-card">
              <Flex justify="space-between" align="start" gap={8}>
                <div className="item-main">
                  <Flex gap={8} align="center" wrap>
                    <Typography.Text strong className="item-title">
                      {pickLanguage(inst.title, i18n.language)}
                    </Typography.Text>
                    <InstanceStatusTag status={inst.status} />
                  </Flex>
                  <MetadataSummary metadata={inst.metadata} max={3} fields={fields.get(inst.process_model_id)} />
                  <Flex gap={6} wrap align="center" className="item-foot">
                    <Typography.Text type="secondary">#{inst.id}</Typography.Text>
                    <Tag>{regionName(inst.region, t)}</Tag>
                    <Typography.Text type="secondary">
                      <TimeAgo iso={inst.created_at} />
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

export function InstanceTable({ instances, loading }: { instances: Instance[]; loading: boolean }) {
  const { t, i18n } = useTranslation();
  const fields = useMetaFields(instances.map((inst) => inst.process_model_id));
  const navigate = useNavigate();
  return (
    <Table<Instance>
      rowKey="id"
      size="middle"
      loading={loading}
      dataSource={instances}
      pagination={false}
      onRow={(inst) => ({
        onClick: (e) => !(e.target as HTMLElement).closest("a") && navigate(`/requests/${inst.id}`),
        className: "clickable-row",
      })}
      columns={[
        {
          key: "request",
          title: t("inbox.columns.request"),
          render: (_, inst) => (
            <div>
              <Link to={`/requests/${inst.id}`} className="task-link">
                {pickLanguage(inst.title, i18n.language)}
              </Link>{" "}
              <Typography.Text type="secondary">#{inst.id}</Typography.Text>
              <div>
                <MetadataSummary metadata={inst.metadata} fields={fields.get(inst.process_model_id)} />
              </div>
            </div>
          ),
        },
        {
          key: "status",
          title: t("inbox.columns.status"),
          width: 110,
          render: (_, inst) => <InstanceStatusTag status={inst.status} />,
        },
        { key: "region", title: t("inbox.columns.region"), width: 90, render: (_, inst) => regionName(inst.region, t) },
        {
          key: "created",
          title: t("inbox.columns.created"),
          width: 130,
          render: (_, inst) => <TimeAgo iso={inst.created_at} />,
        },
        {
          key: "updated",
          title: t("inbox.columns.updated"),
          width: 130,
          render: (_, inst) => <TimeAgo iso={inst.updated_at} />,
        },
      ]}
    />
  );
}
