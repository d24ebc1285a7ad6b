import { describe, expect, it } from "vitest";
import { hasRefusedControl, refusedControlPaths } from "../../../shared/text";

describe("control characters (shared/text.ts)", () => {
  it("a line refuses every C0 and C1 control and DEL, and nothing printable", () => {
    for (const code of [0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x7f, 0x80, 0x85, 0x9f]) {
      expect(hasRefusedControl(`a${String.fromCharCode(code)}b`, "line"), code.toString(16)).toBe(true);
    }
    for (const text of [" ", "~", "\u00a0", "é", "ключ", "鍵", "🔑", "\u200b"]) {
      expect(hasRefusedControl(text, "line"), JSON.stringify(text)).toBe(false);
    }
  });

  it("a line refuses bidirectional formatting, which prose may carry", () => {
    for (const code of [0x061c, 0x200e, 0x200f, 0x202a, 0x202e, 0x2066, 0x2069]) {
      expect(hasRefusedControl(`Evil${String.fromCharCode(code)}ppA`, "line"), code.toString(16)).toBe(true);
      expect(hasRefusedControl(`שלום${String.fromCharCode(code)} world`, "prose"), code.toString(16)).toBe(false);
    }
  });

  it("prose keeps tab, line feed and carriage return and refuses the rest", () => {
    expect(hasRefusedControl("def f():\n\treturn 1\r\n", "prose")).toBe(false);
    for (const code of [0x00, 0x07, 0x0b, 0x0c, 0x1b, 0x7f, 0x85]) {
      expect(hasRefusedControl(`a${String.fromCharCode(code)}b`, "prose"), code.toString(16)).toBe(true);
    }
  });

  it("finds every refused string at any depth, by path", () => {
    const input = { a: "ok", b: ["fine", "bad\u0000"], c: { d: { e: "x\ny" } }, n: 5, z: null };
    expect(refusedControlPaths(input, "line")).toEqual([
      ["b", 1],
      ["c", "d", "e"],
    ]);
    expect(refusedControlPaths(input, "prose")).toEqual([["b", 1]]);
  });
});
