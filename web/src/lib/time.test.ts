import { describe, expect, it } from "vitest";
import { formatDate, formatDateTime, formatRelative } from "./time";

describe("times are shown in Asia/Shanghai", () => {
  it("converts UTC to China time (UTC+8), crossing midnight", () => {
    expect(formatDateTime("2026-11-21T22:18:55.937997+00:00")).toBe("2026-11-22 06:18");
    expect(formatDateTime("2026-11-21T22:18:55+00:00", true)).toBe("2026-11-22 06:18:55");
    expect(formatDate("2026-12-31T16:30:00Z")).toBe("2027-01-01");
  });

  it("does not depend on the device's time zone", () => {
    const saved = process.env.TZ;
    process.env.TZ = "America/Los_Angeles"; // Node applies TZ changes at once
    try {
      expect(new Date(Date.UTC(2026, 0, 1, 0, 0)).getHours()).toBe(16);
      expect(formatDateTime(new Date(Date.UTC(2026, 0, 1, 0, 0)))).toBe("2026-01-01 08:00");
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it("shows empty and invalid input plainly", () => {
    expect(formatDateTime(null)).toBe("");
    expect(formatDateTime("not a date")).toBe("not a date");
  });
});

describe("relative times", () => {
  const now = new Date("2026-11-22T10:00:00Z");
  it("says 3 小时前 / 3 hours ago", () => {
    expect(formatRelative("2026-11-22T07:00:00Z", "zh-CN", now)).toBe("3小时前");
    expect(formatRelative("2026-11-22T07:00:00Z", "en", now)).toBe("3 hours ago");
  });
  it("handles just now, days and the future", () => {
    expect(formatRelative("2026-11-22T09:59:30Z", "zh-CN", now)).toBe("刚刚");
    expect(formatRelative("2026-11-22T09:59:30Z", "en", now)).toBe("just now");
    expect(formatRelative("2026-11-19T10:00:00Z", "en", now)).toBe("3 days ago");
    expect(formatRelative("2026-11-24T10:00:00Z", "zh-CN", now)).toBe("后天");
    expect(formatRelative("2026-11-22T10:05:00Z", "en", now)).toBe("in 5 minutes");
  });
});
