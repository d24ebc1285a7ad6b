/**
 * `npm run bench`: start a fresh local stack (temporary state, free ports),
 * run every benchmark suite against it and print each as a Markdown table.
 * Figures come from one run on one machine; compare ratios, not absolutes.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalStack } from "../tools/local-stack";
import { benchAdmission, formatTable } from "./admission";
import { benchMcp } from "./mcp";

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

const stateDir = await mkdtemp(join(tmpdir(), "muninn-bench-"));
const stack = await startLocalStack({ port: await freePort(), libsqlPort: await freePort(), stateDir });
try {
  const target = { baseUrl: stack.info.baseUrl, adminToken: stack.info.adminToken, vars: stack.vars };
  console.log(formatTable("Admission", await benchAdmission(target)));
  console.log(`\n${formatTable("MCP", await benchMcp(target))}`);
} finally {
  await stack.stop();
  await rm(stateDir, { recursive: true, force: true });
}
