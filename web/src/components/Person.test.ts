import { describe, expect, it } from "vitest";
import { peopleText, personText } from "./Person";

describe("people by name", () => {
  it("puts the display name first, the username in brackets", () => {
    expect(personText("east_planner", "李晓梅")).toBe("李晓梅（east_planner）");
    expect(peopleText(["east_ops", "east_quality"], ["王芳", "钱雨婷"], "、")).toBe(
      "王芳（east_ops）、钱雨婷（east_quality）",
    );
  });

  it("falls back to the username when there is no other name", () => {
    expect(personText("bot", "bot")).toBe("bot");
    expect(personText("east_ops", null)).toBe("east_ops");
    expect(personText("east_ops")).toBe("east_ops");
    expect(personText(null, "王芳")).toBe("");
    expect(peopleText(["a", "b"], undefined, ", ")).toBe("a, b");
    expect(peopleText(["a", "b"], ["甲"], ", ")).toBe("甲（a）, b");
  });
});
