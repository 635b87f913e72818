// 验证记录: upload a record PDF, read the verdict (POST /records/verify) as a checklist an
// inspector can follow: signature intact / valid / trusted, trusted time-stamp, long-term
// validation (PAdES B-LTA), and the audit chain inside the record against this system's log.
import {
  CheckCircleFilled,
  CloseCircleFilled,
  DownloadOutlined,
  InfoCircleFilled,
  InboxOutlined,
  SafetyCertificateOutlined,
} from "@ant-design/icons";
import { Alert, Button, Card, Collapse, Descriptions, Flex, Progress, Result, Typography, Upload } from "antd";
import { useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { auditApi, CA_PEM_URL, type AuditModel, type SignatureCheck, type Verdict } from "../api/audit";
import { checkWording, truthy, verdictChecks, type CheckState } from "./verdict";
import { formatDateTime } from "../lib/time";
import { auditErrorText } from "./messages";
import { modelName } from "./models";

const MAX_BYTES = 20 * 1024 * 1024;

const ICONS: Record<CheckState, ReactNode> = {
  pass: <CheckCircleFilled className="audit-check-pass" aria-hidden />,
  fail: <CloseCircleFilled className="audit-check-fail" aria-hidden />,
  info: <InfoCircleFilled className="audit-check-info" aria-hidden />,
};

function SignatureDetails({ s }: { s: SignatureCheck }) {
  const { t } = useTranslation();
  const yes = (b: boolean) => (b ? t("common.yes") : t("common.no"));
  return (
    <Descriptions size="small" column={1} bordered className="audit-sig">
      <Descriptions.Item label={t("audit.verify.sig.kind")}>
        {s.kind === "signature" ? t("audit.verify.sig.signature") : t("audit.verify.sig.docTimestamp")} ({s.field_name})
      </Descriptions.Item>
      <Descriptions.Item label={t("audit.verify.sig.signer")}>{s.signer ?? t("common.none")}</Descriptions.Item>
      {s.signer_sha256 && (
        <Descriptions.Item label={t("audit.verify.sig.fingerprint")}>
          <Typography.Text code className="audit-hash">
            {s.signer_sha256}
          </Typography.Text>
        </Descriptions.Item>
      )}
      <Descriptions.Item label={t("audit.verify.sig.checks")}>
        {t("audit.verify.sig.intact")} {yes(s.intact)} · {t("audit.verify.sig.valid")} {yes(s.valid)} ·{" "}
        {t("audit.verify.sig.trusted")} {yes(s.trusted)}
      </Descriptions.Item>
      {(s.signing_time || s.timestamp?.time) && (
        <Descriptions.Item label={t("audit.verify.sig.time")}>
          {formatDateTime(s.timestamp?.time ?? s.signing_time, true)}
          {s.timestamp?.tsa ? ` · ${s.timestamp.tsa}` : ""}
        </Descriptions.Item>
      )}
      <Descriptions.Item label={t("audit.verify.sig.coverage")}>
        {[s.coverage, s.modification_level, s.ades_indication].filter(Boolean).join(" · ") || t("common.none")}
      </Descriptions.Item>
      {s.problems.length > 0 && (
        <Descriptions.Item label={t("audit.verify.problems")}>
          <ul className="audit-problems">
            {s.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </Descriptions.Item>
      )}
    </Descriptions>
  );
}

export function VerdictView({
  verdict,
  fileName,
  models,
}: {
  verdict: Verdict;
  fileName: string;
  models: AuditModel[];
}) {
  const { t, i18n } = useTranslation();
  const checks = verdictChecks(verdict);
  const facts = verdict.record;
  const audit = verdict.audit ?? { checked: false };
  const instanceId = audit.instance_id ?? (facts?.instance_id != null ? Number(facts.instance_id) : null);
  const interim = truthy(facts?.interim);
  return (
    <div className="audit-verdict" aria-live="polite">
      <Result
        className="audit-verdict-head"
        status={verdict.ok ? "success" : "error"}
        title={verdict.ok ? t("audit.verify.okTitle") : t("audit.verify.badTitle")}
        subTitle={
          <>
            <div>{fileName}</div>
            <div>
              {verdict.ok
                ? t("audit.verify.okSub")
                : verdict.reason || audit.reason
                  ? t("audit.verify.reason", { reason: verdict.reason || audit.reason })
                  : t("audit.verify.badSub")}
            </div>
          </>
        }
      />
      <ul className="audit-checks" aria-label={t("audit.verify.checksLabel")}>
        {checks.map((c) => (
          <li key={c.key} className={`audit-check audit-check-${c.state}`}>
            {ICONS[c.state]}
            <span>
              <span className="sr-only">{t(`audit.verify.state.${c.state}`)}: </span>
              {t(checkWording(c, verdict), c.values)}
            </span>
          </li>
        ))}
      </ul>
      {interim && <Alert type="info" showIcon message={t("audit.verify.interim")} />}

      {facts && (
        <Descriptions size="small" column={{ xs: 1, sm: 2 }} title={t("audit.verify.facts")} className="audit-facts">
          {instanceId != null && !Number.isNaN(instanceId) && (
            <Descriptions.Item label={t("audit.verify.fact.request")}>
              {audit.checked && audit.matches !== undefined && audit.instance_id ? (
                <Link to={`/requests/${instanceId}`}>#{instanceId}</Link>
              ) : (
                `#${instanceId}`
              )}
            </Descriptions.Item>
          )}
          {facts.model_id && (
            <Descriptions.Item label={t("audit.verify.fact.model")}>
              {modelName(String(facts.model_id), models, i18n.language)}
              {facts.model_version != null ? ` v${String(facts.model_version)}` : ""}
            </Descriptions.Item>
          )}
          {facts.status && (
            <Descriptions.Item label={t("audit.verify.fact.status")}>
              {t(`status.${String(facts.status)}`, { defaultValue: String(facts.status) })}
            </Descriptions.Item>
          )}
          {facts.event_count != null && (
            <Descriptions.Item label={t("audit.verify.fact.events")}>{String(facts.event_count)}</Descriptions.Item>
          )}
          {facts.generated_at && (
            <Descriptions.Item label={t("audit.verify.fact.generated")}>
              {formatDateTime(String(facts.generated_at), true)}
            </Descriptions.Item>
          )}
          <Descriptions.Item label={t("audit.verify.fact.interim")}>
            {interim ? t("common.yes") : t("common.no")}
          </Descriptions.Item>
          {verdict.chain_head && (
            <Descriptions.Item label={t("audit.verify.fact.chainHead")} span={2}>
              <Typography.Text code copyable className="audit-hash">
                {verdict.chain_head}
              </Typography.Text>
            </Descriptions.Item>
          )}
        </Descriptions>
      )}

      <Collapse
        className="audit-verdict-details"
        items={[
          {
            key: "details",
            label: t("audit.verify.details"),
            children: (
              <Flex vertical gap={12}>
                {[...verdict.signatures, ...verdict.document_timestamps].map((s) => (
                  <SignatureDetails key={`${s.kind}-${s.field_name}-${s.revision}`} s={s} />
                ))}
                {verdict.dss && (
                  <Typography.Text type="secondary">
                    {t("audit.verify.dss", {
                      certs: verdict.dss.certs,
                      crls: verdict.dss.crls,
                      ocsps: verdict.dss.ocsps,
                    })}
                  </Typography.Text>
                )}
                {[...verdict.problems, ...(audit.problems ?? []), ...(audit.reason ? [audit.reason] : [])].length >
                  0 && (
                  <div>
                    <Typography.Text strong>{t("audit.verify.problems")}</Typography.Text>
                    <ul className="audit-problems">
                      {[...verdict.problems, ...(audit.problems ?? []), ...(audit.reason ? [audit.reason] : [])].map(
                        (p) => (
                          <li key={p}>{p}</li>
                        ),
                      )}
                    </ul>
                  </div>
                )}
              </Flex>
            ),
          },
        ]}
      />
    </div>
  );
}

export function VerifyRecord({ models }: { models: AuditModel[] }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [percent, setPercent] = useState(0);
  const [verdict, setVerdict] = useState<{ verdict: Verdict; fileName: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const controller = useRef<AbortController | null>(null);

  const verify = async (file: File) => {
    setError(null);
    setVerdict(null);
    if (file.size > MAX_BYTES) {
      setError(t("audit.verify.tooLarge"));
      return;
    }
    controller.current?.abort();
    const c = new AbortController();
    controller.current = c;
    setBusy(true);
    setPercent(0);
    try {
      const v = await auditApi.verify(file, { onProgress: setPercent, signal: c.signal });
      setVerdict({ verdict: v, fileName: file.name });
    } catch (e) {
      if (!(e instanceof DOMException && e.name === "AbortError")) setError(auditErrorText(e, t));
    } finally {
      if (controller.current === c) setBusy(false);
    }
  };

  return (
    <section aria-labelledby="audit-verify-title" className="audit-verify">
      <Typography.Title level={3} id="audit-verify-title" className="audit-section-title">
        {t("audit.verify.title")}
      </Typography.Title>
      <Typography.Paragraph type="secondary">{t("audit.verify.intro")}</Typography.Paragraph>
      <Upload.Dragger
        accept=".pdf,application/pdf"
        multiple={false}
        showUploadList={false}
        disabled={busy}
        beforeUpload={(file) => {
          void verify(file);
          return false;
        }}
        aria-label={t("audit.verify.drop")}
      >
        <p className="ant-upload-drag-icon">
          <InboxOutlined aria-hidden />
        </p>
        <p className="ant-upload-text">{t("audit.verify.drop")}</p>
        <p className="ant-upload-hint">{t("audit.verify.dropHint")}</p>
      </Upload.Dragger>
      {busy && (
        <div className="audit-verify-busy" role="status">
          <Progress percent={percent} status="active" size="small" aria-label={t("audit.verify.uploading")} />
          <Typography.Text type="secondary">
            {percent < 100 ? t("audit.verify.uploading") : t("audit.verify.verifying")}
          </Typography.Text>
        </div>
      )}
      {error && <Alert type="error" showIcon message={t("audit.verify.failed")} description={error} role="alert" />}
      {verdict && <VerdictView verdict={verdict.verdict} fileName={verdict.fileName} models={models} />}

      <Card size="small" className="audit-ca">
        <Flex gap={12} align="start" wrap>
          <SafetyCertificateOutlined className="audit-ca-icon" aria-hidden />
          <div className="audit-ca-text">
            <Typography.Text>{t("audit.verify.offline")}</Typography.Text>
            <div>
              <Typography.Text code>pdfsig request-1-record.pdf</Typography.Text>{" "}
              <Typography.Text code>pyhanko sign validate --trust ca.pem request-1-record.pdf</Typography.Text>
            </div>
          </div>
          <Button icon={<DownloadOutlined aria-hidden />} href={CA_PEM_URL} download="ca.pem">
            {t("audit.verify.caDownload")}
          </Button>
        </Flex>
      </Card>
    </section>
  );
}
