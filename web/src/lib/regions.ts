// HQ and the regions, from GET /regions (cached for the page's life), for filters and labels.
import { useEffect, useState } from "react";
import { api, type Region } from "../api";
import i18n from "../i18n";

let loading: Promise<Region[]> | null = null;

/** Adds regions the translation files do not know, so regionName() can name them too. */
function teach(regions: Region[]): void {
  for (const r of regions) {
    const key = `region.${r.code}`;
    if (!i18n.exists(key, { lng: "zh-CN" })) i18n.addResource("zh-CN", "translation", key, r.name);
    if (!i18n.exists(key, { lng: "en" })) i18n.addResource("en", "translation", key, r.name_en || r.name);
  }
}

export function useRegions(): Region[] {
  const [regions, setRegions] = useState<Region[]>([]);
  useEffect(() => {
    let live = true;
    if (!loading) {
      loading = api.regions().then((r) => {
        teach(r);
        return r;
      });
      loading.catch(() => {
        loading = null;
      });
    }
    loading.then(
      (r) => live && setRegions(r),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  return regions;
}
