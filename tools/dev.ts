/**
 * `npm run dev`: the whole local stack in one command (see local-stack.ts),
 * then how to connect, printed and written to .muninn/dev.json. Ctrl-C stops
 * everything; data stays in .muninn/ for the next run.
 */
import { join } from "node:path";
import { repoRoot, startLocalStack } from "./local-stack";

const stack = await startLocalStack({
  port: Number(process.env.PORT ?? 8787),
  libsqlPort: Number(process.env.LIBSQL_PORT ?? 8080),
  stateDir: join(repoRoot, ".muninn"),
  passthrough: true,
}).catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});

const { info } = stack;
console.log(`
Muninn Cloud is running (management DB schema v${stack.migration.to}).

  Base URL        ${info.baseUrl}
  Local libSQL    ${stack.libsql.url}
  Demo tenant     ${info.tenantId}
  API key         ${info.apiKey}
  Admin token     ${info.adminToken}
  Metrics token   ${info.metricsToken}

  Connect Claude Code:
  claude mcp add --transport http muninn ${info.baseUrl}/mcp --header "Authorization: Bearer ${info.apiKey}"

  OAuth clients (MCP Inspector…): create an account, then connect ${info.baseUrl}/mcp and sign in with it:
  curl -s -X POST ${info.baseUrl}/api/signup -H 'content-type: application/json' \\
    -d '{"email":"you@example.com","password":"a long passphrase","org_name":"Me"}'

Written to .muninn/dev.json. Ctrl-C stops everything; data is kept in .muninn/.
`);

let stopping = false;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(code);
};
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
stack.wrangler.on("exit", (code) => {
  if (!stopping) {
    console.error(`wrangler dev stopped unexpectedly (code ${code})`);
    void shutdown(1);
  }
});
