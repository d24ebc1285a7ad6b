/**
 * The runbook's raw `curl … | jq` commands, run as a person runs them (an
 * interactive shell: no pipefail), say so when the request fails instead of
 * printing nothing and exiting 0.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseShellBlocks } from "../../tools/docs-check";
import { freePort } from "../../tools/free-port";
import { repoRoot } from "../../tools/local-stack";

function bash(script: string, env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile("bash", ["-c", script], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("the runbook's raw curl commands", () => {
  const blocks = parseShellBlocks(readFileSync(join(repoRoot, "docs/runbook.md"), "utf8"), "docs/runbook.md");
  const piped = blocks.filter(
    (block) => block.kind === "check" && block.script.includes("curl") && /\|\s*jq/.test(block.script),
  );

  it("are found in the runbook", () => {
    expect(piped.length).toBeGreaterThan(5);
  });

  it("print an error when the server cannot be reached", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const env = { BASE_URL: closed, MGMT_DB_URL: `${closed}/management/`, MGMT_DB_TOKEN: "x", METRICS_TOKEN: "x" };
    for (const block of piped) {
      const { stderr } = await bash(block.script, { ...env, ADMIN_TOKEN: "x", TENANT_ID: "t" });
      expect(stderr, `docs/runbook.md:${block.line}`).toMatch(/curl: \(7\)/);
    }
  });

  it("print the server's answer and curl's error on an error status", async () => {
    const raw = piped.find((block) => block.script.includes("/v2/pipeline"));
    expect(raw).toBeDefined();
    // A server that refuses every request, as Turso does a wrong token.
    const { createServer } = await import("node:http");
    const server = createServer((_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end('{"message":"Unauthorized: invalid token","code":"UNAUTHORIZED"}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const { stderr } = await bash(raw?.script ?? "", {
        MGMT_DB_URL: `http://127.0.0.1:${port}/management/`,
        MGMT_DB_TOKEN: "wrong",
      });
      expect(stderr).toMatch(/curl: \(22\)/);
    } finally {
      server.close();
    }
  });
});
