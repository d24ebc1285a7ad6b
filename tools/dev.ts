/**
 * `npm run dev`: the whole local stack in one command (see local-stack.ts),
 * then how to connect, printed and written to .muninn/dev.json. Ctrl-C stops
 * everything; data stays in .muninn/ for the next run.
 */
import { startLocalStack } from "./local-stack";
import { portFromEnv, stateDir } from "./operator-env";

const stack = await startLocalStack({
  port: portFromEnv("dev", "PORT", 8787),
  libsqlPort: portFromEnv("dev", "LIBSQL_PORT", 8080),
  // stripe-mock's customary port, kept stable so checkout URLs survive a restart.
  stripePort: portFromEnv("dev", "STRIPE_PORT", 12111),
  stateDir: stateDir(),
  passthrough: true,
  onEmail: (message) => console.log(`\n  Email to ${message.to}: "${message.subject}"\n  ${message.file}\n`),
}).catch((error: Error) => {
  // A port in use is the usual cause; wrangler's own output follows its first line.
  console.error(`dev: ${error.message}`);
  process.exit(1);
});

const { info } = stack;
const billing = await billingDemo();
console.log(`
Muninn Cloud is running (management DB schema v${stack.migration.to}).

  Base URL        ${info.baseUrl}
  Local libSQL    ${stack.libsql.url}
  Demo tenant     ${info.tenantId}
  API key         ${info.apiKey}
  Owner key       ${info.ownerKey}   (billing: keys:manage)
  Admin token     ${info.adminToken}
  Metrics token   ${info.metricsToken}

  Connect Claude Code:
  claude mcp add --transport http muninn ${info.baseUrl}/mcp --header "Authorization: Bearer ${info.apiKey}"

  Open ${info.baseUrl} and sign up. Email is not sent locally: each message
  (the verification link, password resets) is written to .muninn/outbox/ as
  one .eml file, newest last, and its path is printed here.

${billing}
Written to .muninn/dev.json. Ctrl-C stops everything; data is kept in .muninn/.
`);

/**
 * Start a checkout for the demo tenant, so a person trying billing has a URL
 * to open at once: the fake's page "pays" and sends the signed webhooks here.
 */
async function billingDemo(): Promise<string> {
  const checkout = `curl -s -X POST ${info.baseUrl}/api/billing/checkout -H "Authorization: Bearer ${info.ownerKey}" -H "content-type: application/json" -d '{"plan":"team"}'`;
  const status = `curl -s ${info.baseUrl}/api/billing -H "Authorization: Bearer ${info.ownerKey}"`;
  try {
    const response = await fetch(`${info.baseUrl}/api/billing/checkout`, {
      method: "POST",
      headers: { authorization: `Bearer ${info.ownerKey}`, "content-type": "application/json" },
      body: JSON.stringify({ plan: "team" }),
    });
    const body = (await response.json()) as { object?: string; url?: string; error?: { message: string } };
    if (!body.url) return `  Billing: checkout failed (${body.error?.message ?? response.status}).\n`;
    const where = info.stripe.apiBase ? `fake Stripe at ${info.stripe.apiBase}` : "your Stripe test account";
    const complete =
      info.stripe.apiBase && body.object === "checkout_session"
        ? `  or complete it from here:\n  curl -s -X POST ${info.stripe.apiBase}/_fake/checkout/${body.url.split("/").at(-1)}/complete >/dev/null\n`
        : "";
    return `  Billing (${where}):
  open ${body.url}
${complete}  then see the new plan:  ${status}
  another checkout:  ${checkout}
`;
  } catch (error) {
    return `  Billing: checkout failed (${(error as Error).message}).\n`;
  }
}

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
