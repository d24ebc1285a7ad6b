import { describe, expect, it } from "vitest";
import { z } from "zod";
import { withCachedJsonSchema } from "../../../workers/mcp/tools/definition";

/**
 * `withCachedJsonSchema` reads zod's Standard Schema internals (`~standard.jsonSchema`)
 * through a cast. zod and the MCP SDK are pinned to exact versions; these tests
 * fail when an upgrade moves that internal, instead of tool listings silently
 * losing their schemas or their cache.
 */
describe("withCachedJsonSchema", () => {
  const schema = z.object({ title: z.string().max(10).describe("A title."), count: z.number().int().default(1) });
  const options = { target: "draft-2020-12" } as const;

  it("finds zod's JSON Schema conversion where it reads it", () => {
    const standard = schema["~standard"] as unknown as {
      jsonSchema?: { input?: unknown; output?: unknown };
      validate?: unknown;
    };
    expect(typeof standard.jsonSchema?.input).toBe("function");
    expect(typeof standard.jsonSchema?.output).toBe("function");
    expect(typeof standard.validate).toBe("function");
  });

  it("answers what zod answers, converts once per direction and target, and still validates", async () => {
    const cached = withCachedJsonSchema(schema);
    const direct = (schema["~standard"] as unknown as (typeof cached)["~standard"]).jsonSchema;
    const input = cached["~standard"].jsonSchema.input(options);
    expect(input).toEqual(direct.input(options));
    expect(input).toMatchObject({ type: "object", properties: { title: { type: "string", description: "A title." } } });
    expect(cached["~standard"].jsonSchema.input(options)).toBe(input);
    const output = cached["~standard"].jsonSchema.output(options);
    expect(output).toEqual(direct.output(options));
    expect(output).not.toBe(input);
    expect(await cached["~standard"].validate({ title: "ok" })).toEqual({ value: { title: "ok", count: 1 } });
    expect(await cached["~standard"].validate({ title: 3 })).toHaveProperty("issues");
  });
});
