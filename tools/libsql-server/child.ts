/**
 * The local libSQL server in a process of its own (`npm run libsql`'s entry),
 * for a caller that must not share an event loop with it: the benchmark's
 * load generator. In the same process, every database round trip of the
 * Worker waits behind the generator's own JavaScript (parsing the answers of
 * the requests it has in flight), which Turso, a service of its own, never
 * does; the round trip then looks several times dearer than it is.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { LibsqlServer, LibsqlServerOptions } from "./server";

const here = dirname(fileURLToPath(import.meta.url));
const READY = /libSQL server listening on (http:\/\/\S+) /;

export async function startLibsqlChild(opts: LibsqlServerOptions, timeoutMs = 30_000): Promise<LibsqlServer> {
  // tsx as a loader in this one process (its CLI would start a second one between us and the server).
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const child = spawn(process.execPath, ["--import", tsx, join(here, "main.ts")], {
    // Its stdin is a lifeline: when this process ends, however it ends, the pipe closes and the server
    // exits (main.ts, LIBSQL_EXIT_WITH_STDIN) rather than living on as an orphan holding the port.
    stdio: ["pipe", "pipe", "pipe"],
    // The token goes through the environment, never the command line, where any local user could read it.
    env: {
      ...process.env,
      LIBSQL_PORT: String(opts.port),
      LIBSQL_DATA_DIR: opts.dataDir,
      LIBSQL_AUTH_TOKEN: opts.authToken ?? "",
      LIBSQL_EXIT_WITH_STDIN: "1",
    },
  });
  let output = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    output = (output + chunk).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`the libSQL server process did not start: ${why}\n${output}`));
    };
    let seen = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      seen += chunk;
      const found = READY.exec(seen);
      if (found && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve(found[1] as string);
      }
    });
    child.once("exit", (code) => fail(`it exited with code ${code}`));
  });
  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((done) => setTimeout(done, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
