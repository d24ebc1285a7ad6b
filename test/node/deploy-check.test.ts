/**
 * `npm run deploy:check`: an environment is refused while wrangler.toml has
 * placeholders, the Worker would reject its vars, or a required secret is not
 * set in Cloudflare; a complete one passes.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { HANDLED_EVENT_TYPES } from "../../shared/billing/webhook-events";
import { type DeployConfig, deploymentProblems } from "../../tools/deploy-check";
import { repoRoot } from "../../tools/local-stack";

function environment(env: string): DeployConfig {
  const config = unstable_readConfig({ config: join(repoRoot, "wrangler.toml"), env }, { hideWarnings: true });
  return structuredClone({ ...config }) as unknown as DeployConfig;
}

/** What `wrangler secret list --format json` prints, by name. */
const allSecrets = (config: DeployConfig) => config.secrets?.required ?? [];

describe("deploy:check", () => {
  it("fails on today's placeholders, from the command line, without Cloudflare credentials", async () => {
    const home = await mkdtemp(join(tmpdir(), "deploy-check-home-"));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
      delete env.CLOUDFLARE_API_TOKEN;
      delete env.XDG_CONFIG_HOME;
      const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          join(repoRoot, "node_modules/.bin/tsx"),
          [join(repoRoot, "tools/deploy-check.ts"), "--env", "production"],
          { cwd: repoRoot, env, timeout: 60_000 },
          (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
        );
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^deploy:check: production is not ready/);
      expect(result.stdout).toMatch(/KV namespace OAUTH_KV has no real id \("set-to-the-id-printed.*--env production/);
      expect(result.stdout).toMatch(/secrets not verified \(MGMT_DB_TOKEN, .*STRIPE_PRICE_TEAM\)/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 90_000);

  it("passes a complete environment and names each missing secret", () => {
    for (const name of ["staging", "production"]) {
      const config = environment(name);
      expect(deploymentProblems(config, allSecrets(config)).join("\n")).toMatch(/OAUTH_KV has no real id/);
      config.kv_namespaces = [{ binding: "OAUTH_KV", id: "0123456789abcdef0123456789abcdef" }];
      expect(deploymentProblems(config, allSecrets(config))).toEqual([]);
      const missing = allSecrets(config).filter((secret) => secret !== "STRIPE_WEBHOOK_SECRET");
      expect(deploymentProblems(config, missing, name)).toEqual([
        `secret STRIPE_WEBHOOK_SECRET is not set: \`npx wrangler secret put STRIPE_WEBHOOK_SECRET --env ${name}\` (docs/deploy.md)`,
      ]);
    }
  });

  it("refuses placeholder and loopback values, a missing route and vars the Worker would reject", () => {
    const config = environment("production");
    config.kv_namespaces = [{ binding: "OAUTH_KV", id: "0123456789abcdef0123456789abcdef" }];
    config.vars = { ...config.vars, PUBLIC_URL: "http://127.0.0.1:8787", TURSO_ORG: "<your-org>" };
    config.routes = [];
    delete config.vars.MGMT_DB_URL;
    const problems = deploymentProblems(config, allSecrets(config)).join("\n");
    expect(problems).toMatch(/var PUBLIC_URL points at this machine/);
    expect(problems).toMatch(/var TURSO_ORG is a placeholder/);
    expect(problems).toMatch(/no route/);
    expect(problems).toMatch(/the Worker would refuse this configuration: missing configuration: MGMT_DB_URL/);
  });
});

describe("docs/deploy.md", () => {
  it("tells Stripe to send exactly the events the webhook handler acts on", async () => {
    const guide = readFileSync(join(repoRoot, "docs/deploy.md"), "utf8");
    const listed = [...guide.matchAll(/enabled_events\[\]=([a-z_.]+)/g)].map((match) => match[1]);
    expect(listed.sort()).toEqual([...HANDLED_EVENT_TYPES].sort());
  });
});
