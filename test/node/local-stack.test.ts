import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type DevInfo, startLocalStack } from "../../tools/local-stack";
import { parseChecks } from "../../tools/runbook-check";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("the local stack (npm run dev)", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("seeds a working tenant, writes dev.json, and keeps everything across a restart", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "muninn-stack-"));
    dirs.push(stateDir);
    const ports = { port: await freePort(), libsqlPort: await freePort() };

    const first = await startLocalStack({ ...ports, stateDir });
    let before: { usage: { requests: number } };
    try {
      const written = JSON.parse(await readFile(join(stateDir, "dev.json"), "utf8")) as DevInfo;
      expect(written).toEqual(first.info);
      expect(written.apiKey).toMatch(/^mk_/);
      expect((await fetch(`${first.info.baseUrl}/ready`)).status).toBe(200);
      const usage = await fetch(`${first.info.baseUrl}/api/usage`, {
        headers: { authorization: `Bearer ${first.info.apiKey}` },
      });
      expect(usage.status).toBe(200);
      before = (await usage.json()) as typeof before;
    } finally {
      await first.stop();
    }
    await expect(fetch(`${first.info.baseUrl}/health`)).rejects.toThrow();

    const second = await startLocalStack({ ...ports, stateDir });
    try {
      expect(second.info).toEqual(first.info);
      expect(second.migration.applied).toEqual([]);
      const usage = await fetch(`${second.info.baseUrl}/api/usage`, {
        headers: { authorization: `Bearer ${second.info.apiKey}` },
      });
      expect(usage.status).toBe(200);
      // The tenant's Durable Object kept its counters across the restart.
      const after = (await usage.json()) as typeof before;
      expect(after.usage.requests).toBeGreaterThan(before.usage.requests);
    } finally {
      await second.stop();
    }
  }, 180_000);
});

describe("runbook checks", () => {
  it("pairs each check marker with the bash block under it, indented or not", () => {
    const checks = parseChecks(
      [
        "<!-- check: ^ok$ -->",
        "```bash",
        "echo ok",
        "```",
        "text",
        "   <!-- check: two -->",
        "   ```bash",
        "   echo one",
        "   echo two",
        "   ```",
        "```bash",
        "echo unchecked",
        "```",
      ].join("\n"),
    );
    expect(checks.map((c) => c.script)).toEqual(["echo ok", "echo one\necho two"]);
    expect(checks[0]?.expect.test("ok")).toBe(true);
  });

  it("refuses a marker that is not followed by a bash block", () => {
    expect(() => parseChecks("<!-- check: x -->\nplain text")).toThrow(/must be followed by a bash block/);
  });
});
