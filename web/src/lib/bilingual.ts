// Process models write many texts as "中文 / English" (titles, options, help, placeholders).
// Show the half in the UI's language; leave anything else untouched.
const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
// The Chinese half ends with a Chinese character or Chinese punctuation (。）》」…).
const ENDS_CJK = /[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]$/;

/** ["中文", "English"] when `text` is such a pair, else null. The separator is "/ ", with or
 * without a space before it ("建设补贴（按 元/kW）/ Construction subsidy" has none after "）"). */
export function splitBilingual(text: string): [string, string] | null {
  let from = 0;
  for (;;) {
    const i = text.indexOf("/ ", from);
    if (i < 0) return null;
    const zh = text.slice(0, i).trim();
    const en = text.slice(i + 2).trim();
    // A Chinese text may contain " / " itself ("原物料 / 产品"): the English half has no CJK.
    if (ENDS_CJK.test(zh) && en && !CJK.test(en) && /^[\p{L}\p{N}(“"'‘]/u.test(en)) return [zh, en];
    from = i + 2;
  }
}

export function pickLanguage(text: string | null | undefined, lang: string): string {
  if (!text) return "";
  const pair = splitBilingual(text);
  if (!pair) return text;
  return lang.startsWith("zh") ? pair[0] : pair[1];
}
