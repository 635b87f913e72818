// Where "back to the inbox" goes: the list (tab, filters, page) the person came from.
const KEY = "approvals.lastInbox";

export function rememberInbox(url: string): void {
  try {
    sessionStorage.setItem(KEY, url);
  } catch {
    // storage unavailable: the plain inbox will do
  }
}

export function lastInboxUrl(): string {
  try {
    const url = sessionStorage.getItem(KEY);
    return url && url.startsWith("/inbox") ? url : "/inbox";
  } catch {
    return "/inbox";
  }
}
