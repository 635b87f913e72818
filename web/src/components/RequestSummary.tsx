import { Descriptions, Flex, Grid, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import type { Instance, Metadata } from "../api";
import type { FieldLabel } from "../forms/schema";
import { fieldName, formatValue, pickLanguage, regionName } from "../lib/format";
import { formatDateTime } from "../lib/time";
import { Person, personText } from "./Person";
import { InstanceStatusTag } from "./Tags";

interface Props {
  instanceId: number;
  title: string;
  region: string | null;
  metadata: Metadata;
  instance?: Instance;
  labels: Map<string, FieldLabel>;
  /** On the request's own page the heading already says what and which status. */
  onInstancePage?: boolean;
}

/** The request at a glance: what, whose, where, when, and its business keys. */
export function RequestSummary({
  instanceId,
  title,
  region,
  metadata,
  instance,
  labels,
  onInstancePage = false,
}: Props) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const phone = !Grid.useBreakpoint().sm;
  const business = Object.entries(metadata ?? {})
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([key, value]) => ({
      key: `m-${key}`,
      label: fieldName(key, t, lang, labels.get(key)),
      children: <span className="data-value">{pickLanguage(formatValue(value, t, lang, labels.get(key)), lang)}</span>,
    }));
  const what = (
    <span>
      {pickLanguage(title, lang)} <Link to={`/requests/${instanceId}`}>#{instanceId}</Link>
    </span>
  );
  const who = [
    instance ? personText(instance.initiator, instance.initiator_name) : null,
    regionName(region, t),
    instance ? formatDateTime(instance.created_at) : null,
  ].filter(Boolean);

  if (phone) {
    // Phones: two lines of context, then the business keys; no label for what is self-evident.
    return (
      <Flex vertical gap={8}>
        {!onInstancePage && (
          <Flex gap={8} align="center" wrap>
            <Typography.Text strong>{what}</Typography.Text>
            {instance && <InstanceStatusTag status={instance.status} />}
          </Flex>
        )}
        <Typography.Text type="secondary">
          {instance && `${t("instance.initiator")} `}
          {who.join(" · ")}
        </Typography.Text>
        {business.length > 0 && <Descriptions size="small" column={1} items={business} />}
      </Flex>
    );
  }

  const items = [
    ...(onInstancePage
      ? []
      : [
          { key: "title", label: t("instance.process"), children: what },
          ...(instance
            ? [{ key: "status", label: t("instance.status"), children: <InstanceStatusTag status={instance.status} /> }]
            : []),
        ]),
    ...(instance
      ? [
          {
            key: "initiator",
            label: t("instance.initiator"),
            children: <Person username={instance.initiator} name={instance.initiator_name} />,
          },
          { key: "created", label: t("instance.created"), children: formatDateTime(instance.created_at) },
        ]
      : []),
    { key: "region", label: t("instance.region"), children: regionName(region, t) },
    ...business,
  ];
  return <Descriptions size="small" column={{ sm: 2, md: 2, lg: 2, xl: 3, xxl: 3 }} items={items} />;
}
