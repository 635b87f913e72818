// Process models for the audit page: their names (GET /process-models) and, per model, the
// metadata fields its requests can be searched by (GET /process-models/<id>, fetched once).
import type { TFunction } from "i18next";
import { useEffect, useMemo, useState } from "react";
import { auditApi, type AuditModel, type AuditModelDetail } from "../api/audit";
import { pickLanguage } from "../lib/bilingual";
import { metaFieldsOf, type MetaField } from "./metaFields";

const details = new Map<string, Promise<AuditModelDetail>>();

function loadDetail(id: string): Promise<AuditModelDetail> {
  let p = details.get(id);
  if (!p) {
    p = auditApi.model(id);
    p.catch(() => details.delete(id)); // a later visit tries again
    details.set(id, p);
  }
  return p;
}

/** Metadata fields of each of the models named (unknown or failing models: none). */
export function useMetaFields(modelIds: string[]): Map<string, MetaField[]> {
  const key = [...new Set(modelIds.filter(Boolean))].sort().join("|");
  const [fields, setFields] = useState<Map<string, MetaField[]>>(new Map());
  useEffect(() => {
    if (!key) return;
    let live = true;
    const ids = key.split("|");
    void Promise.all(
      ids.map((id) =>
        loadDetail(id).then(
          (m) => [id, metaFieldsOf(m.files)] as const,
          () => [id, [] as MetaField[]] as const,
        ),
      ),
    ).then((entries) => {
      if (!live) return;
      setFields((prev) => {
        const next = new Map(prev);
        for (const [id, list] of entries) next.set(id, list);
        return next;
      });
    });
    return () => {
      live = false;
    };
  }, [key]);
  return fields;
}

export function useModelList(): { models: AuditModel[]; failed: boolean } {
  const [models, setModels] = useState<AuditModel[]>([]);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const controller = new AbortController();
    auditApi.models(controller.signal).then(
      (list) => setModels(list),
      (e: unknown) => {
        if (!(e instanceof DOMException && e.name === "AbortError")) setFailed(true);
      },
    );
    return () => controller.abort();
  }, []);
  return useMemo(() => ({ models, failed }), [models, failed]);
}

/** "ETO 定制订单需求置换" / "ETO change order"; an unknown id as it is. */
export function modelName(id: string, models: AuditModel[], lang: string): string {
  const m = models.find((x) => x.id === id);
  return m ? pickLanguage(m.display_name, lang) : id;
}

/** A metadata key in the UI's language: the model's form title, else our names, else the key. */
export function metaLabel(key: string, fields: MetaField[] | undefined, t: TFunction, lang: string): string {
  const f = fields?.find((x) => x.key === key);
  if (f?.title) return !lang.startsWith("zh") && f.titleEn ? f.titleEn : pickLanguage(f.title, lang);
  return t(`audit.meta.${key}`, { defaultValue: t(`meta.${key}`, { defaultValue: key }) });
}
