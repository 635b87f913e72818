// A process model's files (its forms' schemas, its BPMN), fetched once per model and page load.
import { useEffect, useState } from "react";
import { api, type ProcessModelDetail } from "../api";
import { collectFieldLabels, schemasFromFiles, type FieldLabel } from "../forms/schema";

const cache = new Map<string, Promise<ProcessModelDetail>>();

export function loadModel(id: string): Promise<ProcessModelDetail> {
  let p = cache.get(id);
  if (!p) {
    p = api.processModel(id);
    p.catch(() => cache.delete(id)); // let a later page try again
    cache.set(id, p);
  }
  return p;
}

export function useModel(id: string | undefined): ProcessModelDetail | undefined {
  const [model, setModel] = useState<ProcessModelDetail>();
  useEffect(() => {
    if (!id) return;
    let live = true;
    loadModel(id).then(
      (m) => live && setModel(m),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [id]);
  return model;
}

/** Titles of every field of every form of the model: data and history read as labels, not keys. */
export function useFieldLabels(modelId: string | undefined): Map<string, FieldLabel> {
  const model = useModel(modelId);
  const [labels, setLabels] = useState<Map<string, FieldLabel>>(new Map());
  useEffect(() => {
    if (model) setLabels(collectFieldLabels(schemasFromFiles(model.files ?? {})));
  }, [model]);
  return labels;
}
