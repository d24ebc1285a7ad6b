import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { docFiles, parseShellBlocks } from "../../tools/docs-check";
import { freePort } from "../../tools/free-port";
import { type DevInfo, repoRoot, startLocalStack } from "../../tools/local-stack";

function mcp(baseUrl: string, key: string, body: unknown, sessionId?: string) {
  return fetch(`${baseUrl}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(sessionId && { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" }),
    },
    body: JSON.stringify(body),
  });
}

/** The same POST over plain `node:http`, which (unlike fetch) hands back the body bytes exactly as sent. */
function mcpBytes(baseUrl: string, key: string, body: unknown, acceptEncoding: string | null) {
  return new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    const headers = {
      authorization: `Bearer ${key}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(acceptEncoding !== null && { "accept-encoding": acceptEncoding }),
    };
    const sent = request(`${baseUrl}/mcp`, { method: "POST", headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    sent.on("error", reject);
    sent.end(JSON.stringify(body));
  });
}

/** An operator script as a second shell runs it: no deployment variables, the stack found through its state folder. */
function operatorScript(script: string, args: string[], stateDir: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, MUNINN_STATE_DIR: stateDir };
  for (const name of Object.keys(env))
    if (/^(MGMT_DB_|TURSO_|DB_TOKEN_|BASE_URL$|ADMIN_TOKEN$)/.test(name)) delete env[name];
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      join(repoRoot, "node_modules/.bin/tsx"),
      [join(repoRoot, "tools", script), ...args],
      { cwd: repoRoot, env, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `pid` and every process below it, with the command line `ps` would show for each. */
function processTree(pid: number): { pid: number; cmdline: string }[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent; the command name (field 2) may contain spaces.
      const fields = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]?.split(" ");
      parents.set(Number(entry), Number(fields?.[1]));
    } catch {}
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  return tree.flatMap((member) => {
    try {
      return [{ pid: member, cmdline: readFileSync(`/proc/${member}/cmdline`, "utf8").replaceAll("\0", " ") }];
    } catch {
      return [];
    }
  });
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "restart-test", version: "1" } },
};

describe("the local stack (npm run dev)", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("seeds a working tenant, writes dev.json, and keeps tenants, counters and MCP sessions across a restart", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "muninn-stack-"));
    dirs.push(stateDir);
    const ports = { port: await freePort(), libsqlPort: await freePort(), stripePort: await freePort() };

    const first = await startLocalStack({ ...ports, stateDir });
    let before: { usage: { requests: number } };
    let sessionId: string | null;
    try {
      // No secret is visible to other local users: not on any command line, and the env file is 0600.
      const processes = processTree(first.wrangler.pid as number);
      expect(processes.length).toBeGreaterThan(1);
      const secrets = [first.secrets.adminToken, first.secrets.encryptionKey, first.secrets.libsqlToken];
      secrets.push(first.secrets.metricsToken);
      for (const { cmdline } of processes) for (const secret of secrets) expect(cmdline).not.toContain(secret);
      expect((await stat(join(stateDir, "worker.env"))).mode & 0o777).toBe(0o600);
      expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
      // Operator scripts find the running stack by themselves, whatever its ports.
      const sql = await operatorScript("sql.ts", ["SELECT COUNT(*) AS n FROM tenants"], stateDir);
      expect(sql).toMatchObject({ code: 0, stdout: expect.stringMatching(/"n": 1/) });
      const reconcile = await operatorScript("billing-reconcile.ts", [], stateDir);
      expect(reconcile).toMatchObject({ code: 0, stdout: expect.stringMatching(/^billing reconciliation/) });
      // The local stack opts in to /metrics without a token (it listens on loopback only).
      expect((await fetch(`${first.info.baseUrl}/metrics`)).status).toBe(200);

      const written = JSON.parse(await readFile(join(stateDir, "dev.json"), "utf8")) as DevInfo;
      expect(written).toEqual(first.info);
      expect(written.apiKey).toMatch(/^mk_/);
      expect((await fetch(`${first.info.baseUrl}/ready`)).status).toBe(200);
      const usage = await fetch(`${first.info.baseUrl}/api/usage`, {
        headers: { authorization: `Bearer ${first.info.apiKey}` },
      });
      expect(usage.status).toBe(200);
      before = (await usage.json()) as typeof before;
      const initialized = await mcp(first.info.baseUrl, first.info.apiKey, INITIALIZE);
      expect(initialized.status).toBe(200);
      sessionId = initialized.headers.get("mcp-session-id");
      expect(sessionId).toMatch(/^[\x21-\x7e]{16,}$/);
    } finally {
      await first.stop();
    }
    await expect(fetch(`${first.info.baseUrl}/health`)).rejects.toThrow();
    // A stopped stack, or none at all, is one line saying what to do: no stack trace.
    const stopped = await operatorScript("sql.ts", ["SELECT 1"], stateDir);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/^sql: the local stack recorded in .* is not running .*npm run dev/);
    const none = await operatorScript("migrate.ts", [], join(stateDir, "nothing-here"));
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^migrate: missing configuration: MGMT_DB_URL .*export it/);
    for (const failure of [stopped, none]) expect(failure.stderr.trim().split("\n")).toHaveLength(1);

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
      // A 2025-era session opened before the restart is still known after it.
      const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
      const listed = await mcp(second.info.baseUrl, second.info.apiKey, list, sessionId ?? undefined);
      expect(listed.status).toBe(200);
      expect(await mcp(second.info.baseUrl, second.info.apiKey, list, "not-a-session")).toHaveProperty("status", 404);
      // A replayed tools/list reaches the client through wrangler dev as one valid gzip member with
      // the request's id (not compressed a second time), and the plain answer is the same JSON.
      const { baseUrl, apiKey } = second.info;
      await mcpBytes(baseUrl, apiKey, { ...list, id: 1 }, "gzip");
      const wire = await mcpBytes(baseUrl, apiKey, { ...list, id: "wire-é" }, "gzip");
      const plain = await mcpBytes(baseUrl, apiKey, { ...list, id: "wire-é" }, "identity");
      // curl without --compressed offers nothing, and gets the same plain JSON.
      const bare = await mcpBytes(baseUrl, apiKey, { ...list, id: "wire-é" }, null);
      expect(bare.headers["content-encoding"]).toBeUndefined();
      expect(bare.body.equals(plain.body)).toBe(true);
      expect(wire.headers["content-encoding"]).toBe("gzip");
      expect(plain.headers["content-encoding"]).toBeUndefined();
      const decoded = gunzipSync(wire.body);
      expect(decoded.equals(plain.body)).toBe(true);
      expect(JSON.parse(decoded.toString("utf8"))).toMatchObject({
        id: "wire-é",
        result: { tools: expect.any(Array) },
      });
      expect(wire.body.length).toBeLessThan(decoded.length / 3);
    } finally {
      await second.stop();
    }
  }, 180_000);
});

describe("billing on the local stack", () => {
  it("works offline: checkout on the fake Stripe, its page pays and delivers signed webhooks, the plan changes", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "muninn-stack-billing-"));
    const stack = await startLocalStack({ port: await freePort(), libsqlPort: await freePort(), stateDir });
    try {
      const { info } = stack;
      const written = JSON.parse(await readFile(join(stateDir, "dev.json"), "utf8")) as DevInfo;
      expect(written.stripe).toEqual({
        apiBase: stack.fakeStripe?.url,
        webhookSecret: expect.stringMatching(/^whsec_/),
        prices: { pro: expect.stringMatching(/^price_/), team: expect.stringMatching(/^price_/) },
      });
      const owner = { authorization: `Bearer ${info.ownerKey}`, "content-type": "application/json" };
      const started = await fetch(`${info.baseUrl}/api/billing/checkout`, {
        method: "POST",
        headers: owner,
        body: JSON.stringify({ plan: "team" }),
      });
      expect(started.status).toBe(200);
      const { url } = (await started.json()) as { url: string };
      expect((await fetch(url)).status).toBe(200);
      // What the person's browser does on the fake's checkout page.
      const paid = await fetch(`${url}/pay`, { method: "POST" });
      const page = await paid.text();
      expect(page).toContain("Payment complete");
      expect(page).toContain("customer.subscription.created: 200");
      expect(page).toContain("checkout.session.completed: 200");
      const billing = (await (await fetch(`${info.baseUrl}/api/billing`, { headers: owner })).json()) as {
        plan: string;
        subscription: { status: string };
      };
      expect(billing).toMatchObject({ plan: "team", subscription: { status: "active" } });
      const me = await fetch(`${info.baseUrl}/api/me`, { headers: { authorization: `Bearer ${info.apiKey}` } });
      expect(me.headers.get("x-ratelimit-limit")).toBe("1000");
    } finally {
      await stack.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe("docs check", () => {
  it("pairs each check marker with the shell block under it, indented or not, and skips examples", () => {
    const blocks = parseShellBlocks(
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
        "```sh example",
        "npm run dev",
        "```",
        "```json",
        "{}",
        "```",
      ].join("\n"),
    );
    expect(blocks.map((b) => [b.kind, b.script])).toEqual([
      ["check", "echo ok"],
      ["check", "echo one\necho two"],
      ["example", "npm run dev"],
    ]);
    expect(blocks[0]?.expect?.test("ok")).toBe(true);
  });

  it("refuses a shell block that is neither checked nor an example, and a marker without a block", () => {
    expect(() => parseShellBlocks("text\n```sh\nnpm run sql\n```", "README.md")).toThrow(
      /README\.md: shell block\(s\) at line 2 are neither checked/,
    );
    expect(() => parseShellBlocks("<!-- check: x -->\nplain text")).toThrow(/must be followed by a bash block/);
  });

  it("finds every block of the repository's docs marked one way or the other", async () => {
    for (const file of await docFiles()) {
      expect(() => parseShellBlocks(readFileSync(join(repoRoot, file), "utf8"), file)).not.toThrow();
    }
  });
});
