import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../tools/free-port";
import { startLocalStack } from "../../tools/local-stack";

/** Runtime messages that mean a promise or I/O crossed from one request into another. */
const CROSS_REQUEST = [/Promise will never complete/, /IoContext dropped queued cross-context actions/];

describe("the Worker under load on the local stack", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("logs no cross-request promise errors while serving batched remember calls", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "muninn-load-"));
    dirs.push(stateDir);
    // Metrics batched as in production (1 s), so flushes overlap many requests.
    const stack = await startLocalStack({ port: await freePort(), libsqlPort: await freePort(), stateDir });
    try {
      const { baseUrl, apiKey } = stack.info;
      let id = 0;
      const remember = () => {
        id += 1;
        const memories = Array.from({ length: 5 }, (_, i) => ({ content: `load ${id}.${i}`, project: "load" }));
        return fetch(`${baseUrl}/mcp`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${apiKey}`,
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
          },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id,
            method: "tools/call",
            params: { name: "remember", arguments: { memories } },
          }),
        });
      };
      const statuses: number[] = [];
      // 8 workers, 20 rounds each, with anonymous /health in between: 320 requests.
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let round = 0; round < 20; round++) {
            const [saved, health] = await Promise.all([remember(), fetch(`${baseUrl}/health`)]);
            statuses.push(saved.status, health.status);
            await saved.arrayBuffer();
            await health.arrayBuffer();
          }
        }),
      );
      // The demo tenant is on the pro plan (300 requests a minute): some remembers may be refused.
      expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
      // Let the last metric flushes run.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const log = stack.log();
      for (const pattern of CROSS_REQUEST) expect(log).not.toMatch(pattern);
    } finally {
      await stack.stop();
    }
  }, 240_000);
});
