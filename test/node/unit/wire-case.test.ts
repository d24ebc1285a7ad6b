import { describe, expect, it } from "vitest";
import { fromWire, toResult, wireName } from "../../../workers/mcp/tools/wire-case";

describe("the wire/domain mapping", () => {
  it("turns a domain value into a tool result: snake_case keys, null and undefined fields left out", () => {
    const result = toResult({
      supersededBy: null,
      createdAt: "t",
      issue: { resolvedAt: null, severity: 3 },
      similar: [{ id: "m_1", title: null }],
    });
    expect(result).toEqual({ created_at: "t", issue: { severity: 3 }, similar: [{ id: "m_1" }] });
    expect(result).not.toHaveProperty("superseded_by");
  });

  it("turns tool arguments into domain input: camelCase keys, nulls kept (null clears a field)", () => {
    expect(fromWire({ all_projects: true, tag_mode: "all", title: null, files: ["a_b/c_d.ts"] })).toEqual({
      allProjects: true,
      tagMode: "all",
      title: null,
      files: ["a_b/c_d.ts"],
    });
    expect(wireName("toId")).toBe("to_id");
  });
});
