// Picks people from the directory (GET /directory): type a name, a username or a department.
// Options say who each person is (name, username, department, region) so two 张伟 differ.
import { Select, Spin } from "antd";
import type { TFunction } from "i18next";
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, type DirectoryPerson } from "../api";
import { regionName } from "../lib/format";

interface Props {
  id?: string;
  value?: string | string[];
  onChange?: (value: string | string[] | undefined) => void;
  multiple?: boolean;
  /** Usernames not to offer (e.g. the signed-in user for a transfer). */
  exclude?: string[];
  placeholder?: string;
  "aria-label"?: string;
  status?: "error";
}

export function personLabel(p: DirectoryPerson, t: TFunction): string {
  const where = [p.department, regionName(p.region, t)].filter(Boolean).join(" · ");
  return `${p.display_name}（${p.username}）${where ? ` ${where}` : ""}`;
}

export function PersonPicker({
  id,
  value,
  onChange,
  multiple = false,
  exclude = [],
  placeholder,
  status,
  ...rest
}: Props) {
  const { t } = useTranslation();
  const [query, setQuery] = useState("");
  const [people, setPeople] = useState<DirectoryPerson[]>([]);
  const [loading, setLoading] = useState(false);
  const [failed, setFailed] = useState(false);
  // People chosen stay labelled even when a later search no longer lists them.
  const known = useRef(new Map<string, DirectoryPerson>());

  useEffect(() => {
    const controller = new AbortController();
    const timer = setTimeout(
      () => {
        setLoading(true);
        api.directory({ q: query.trim() || undefined, per_page: 20 }, controller.signal).then(
          (page) => {
            page.items.forEach((p) => known.current.set(p.username, p));
            setPeople(page.items);
            setFailed(false);
            setLoading(false);
          },
          (e: unknown) => {
            if (e instanceof DOMException && e.name === "AbortError") return;
            setFailed(true);
            setLoading(false);
          },
        );
      },
      query ? 250 : 0,
    );
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [query]);

  const selected = useMemo(() => (Array.isArray(value) ? value : value ? [value] : []), [value]);
  const options = useMemo(() => {
    const shown = new Map<string, DirectoryPerson>();
    for (const u of selected) {
      const p = known.current.get(u);
      if (p) shown.set(u, p);
    }
    for (const p of people) if (!exclude.includes(p.username)) shown.set(p.username, p);
    return [...shown.values()].map((p) => ({ value: p.username, label: personLabel(p, t) }));
  }, [people, selected, exclude, t]);

  return (
    <Select
      id={id}
      aria-label={rest["aria-label"]}
      status={status}
      mode={multiple ? "multiple" : undefined}
      showSearch
      allowClear
      value={multiple ? selected : (selected[0] ?? undefined)}
      onChange={(v: string | string[] | undefined) => {
        onChange?.(v);
        setQuery("");
      }}
      filterOption={false}
      onSearch={setQuery}
      searchValue={query}
      placeholder={placeholder ?? t("people.placeholder")}
      notFoundContent={loading ? <Spin size="small" /> : failed ? t("people.failed") : t("people.none")}
      options={options}
      optionLabelProp="label"
      popupMatchSelectWidth
      className="person-picker"
    />
  );
}
