import { describe, expect, it } from "vitest";
import {
  ACCEPT,
  addRefs,
  formatBytes,
  MAX_ATTACHMENT_BYTES,
  precheckFile,
  REF_PATTERN,
  refsOf,
  removeRef,
  shortRef,
} from "./attachments";

const SHA = "sha256:" + "ab".repeat(32);
const SHA2 = "sha256:" + "cd".repeat(32);

describe("precheckFile (mirrors the server's 413/415)", () => {
  it("accepts documents and photos within the limit", () => {
    expect(precheckFile({ name: "发票.pdf", size: 1024, type: "application/pdf" })).toBeNull();
    expect(precheckFile({ name: "IMG_0001.JPG", size: 3_000_000, type: "image/jpeg" })).toBeNull();
    expect(precheckFile({ name: "对账.xlsx", size: 10, type: "" })).toBeNull(); // phones often send no type
    expect(precheckFile({ name: "bill.csv", size: 10, type: "application/vnd.ms-excel" })).toBeNull(); // Windows + Excel
    expect(precheckFile({ name: "photo.jpeg", size: 10, type: "application/octet-stream" })).toBeNull();
    expect(precheckFile({ name: "scan", size: 10, type: "application/pdf" })).toBeNull(); // no extension, known type
    expect(precheckFile({ name: "x.pdf", size: MAX_ATTACHMENT_BYTES })).toBeNull();
  });

  it("refuses what the server would refuse", () => {
    expect(precheckFile({ name: "big.pdf", size: MAX_ATTACHMENT_BYTES + 1, type: "application/pdf" })).toEqual({
      code: "too_large",
      size: MAX_ATTACHMENT_BYTES + 1,
      max: MAX_ATTACHMENT_BYTES,
    });
    expect(precheckFile({ name: "run.exe", size: 10, type: "application/x-msdownload" })).toEqual({
      code: "type",
      name: "run.exe",
    });
    expect(precheckFile({ name: "page.html", size: 10, type: "text/html" })?.code).toBe("type");
    expect(precheckFile({ name: "old.doc", size: 10, type: "application/msword" })?.code).toBe("type");
    expect(precheckFile({ name: "anim.gif", size: 10, type: "image/gif" })?.code).toBe("type");
    // the name says PDF, the browser says PNG: the server would refuse the mismatch
    expect(precheckFile({ name: "x.pdf", size: 10, type: "image/png" })?.code).toBe("type");
    expect(precheckFile({ name: "noext", size: 10, type: "text/html" })?.code).toBe("type");
    expect(precheckFile({ name: "empty.pdf", size: 0, type: "application/pdf" })).toEqual({ code: "empty" });
    expect(precheckFile({ name: "a.pdf", size: 2048 }, 1024)?.code).toBe("too_large");
  });

  it("gives the file picker the same list", () => {
    expect(ACCEPT).toContain(".pdf");
    expect(ACCEPT).toContain("image/jpeg");
    expect(ACCEPT).not.toContain(".exe");
  });
});

describe("refs in form data", () => {
  it("reads one string or an array", () => {
    expect(refsOf(SHA)).toEqual([SHA]);
    expect(refsOf([SHA, 3, "", SHA2])).toEqual([SHA, SHA2]);
    expect(refsOf(undefined)).toEqual([]);
    expect(refsOf("")).toEqual([]);
  });

  it("adds to a list without duplicates, replaces a single file", () => {
    expect(addRefs([SHA], [SHA, SHA2], true)).toEqual([SHA, SHA2]);
    expect(addRefs(undefined, [SHA], true)).toEqual([SHA]);
    expect(addRefs(SHA, [SHA2], false)).toBe(SHA2);
  });

  it("removes, leaving an empty single field undefined", () => {
    expect(removeRef([SHA, SHA2], SHA, true)).toEqual([SHA2]);
    expect(removeRef(SHA, SHA, false)).toBeUndefined();
  });

  it("shortens a ref for people and keeps the pattern the validator uses", () => {
    expect(shortRef(SHA)).toBe("sha256:abababab…abab");
    expect(shortRef("sha256:abc")).toBe("sha256:abc");
    expect(REF_PATTERN.test(SHA)).toBe(true);
    expect(REF_PATTERN.test("sha256:XYZ")).toBe(false);
  });

  it("formats sizes", () => {
    expect(formatBytes(900)).toBe("900 B");
    expect(formatBytes(2048)).toBe("2 KB");
    expect(formatBytes(2.45 * 1024 * 1024)).toBe("2.5 MB");
    expect(formatBytes(20 * 1024 * 1024)).toBe("20 MB");
  });
});
