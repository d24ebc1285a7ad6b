/**
 * The local libSQL server in a process of its own (tools/libsql-server/child.ts),
 * as the benchmark runs it: it answers like the in-process one, keeps its
 * token off the command line, stops on close, and never outlives its parent.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createClient } from "@libsql/client/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLibsqlChild } from "../../tools/libsql-server/child";

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "libsql-child-test-"));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

describe.runIf(process.platform === "linux")("the libSQL server in its own process", () => {
  it("answers queries with its token, refuses without it, keeps the token off its command line and stops on close", async () => {
    const token = "a-token-for-this-test-only";
    const server = await startLibsqlChild({ port: 0, dataDir: join(dataDir, "own"), authToken: token });
    const pid = server.pid as number;
    try {
      expect(pid).not.toBe(process.pid);
      expect(alive(pid)).toBe(true);
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain(token);

      const db = createClient({ url: `${server.url}/child-test/`, authToken: token });
      await db.execute("CREATE TABLE t (n INTEGER)");
      await db.execute({ sql: "INSERT INTO t VALUES (?)", args: [41] });
      expect((await db.execute("SELECT n + 1 AS n FROM t")).rows[0]?.n).toBe(42);
      db.close();
      const refused = await fetch(`${server.url}/child-test/v2/pipeline`, { method: "POST", body: "{}" });
      expect(refused.status).toBe(401);
    } finally {
      await server.close();
    }
    expect(await until(() => !alive(pid), 5000)).toBe(true);
  });

  it("exits when the process that started it dies without closing it", async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const fixture = join(__dirname, "..", "fixtures", "libsql-child", "parent.ts");
    const parent = spawn(process.execPath, ["--import", tsx, fixture, join(dataDir, "orphan")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const childPid = await new Promise<number>((resolve, reject) => {
      let seen = "";
      parent.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        seen += chunk;
        const found = /child (\d+)/.exec(seen);
        if (found) resolve(Number(found[1]));
      });
      parent.once("exit", (code) => reject(new Error(`the parent exited first (${code}): ${seen}`)));
    });
    expect(alive(childPid)).toBe(true);
    parent.kill("SIGKILL");
    expect(await until(() => !alive(childPid), 10_000)).toBe(true);
  });
});
