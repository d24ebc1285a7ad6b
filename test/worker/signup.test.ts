import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PASSWORD_PARAMS, verifyPassword } from "../../shared/accounts/passwords";
import { signUp } from "../../shared/accounts/signup";
import { AppError } from "../../shared/errors";
import type { ProvisioningStep } from "../../shared/tenants/tenants";
import { getDatabase, PlatformApiError } from "../../shared/tenants/turso-platform";
import { post as mcpPost, TOOLS_LIST } from "./mcp-support";
import { config, openMgmtDb, workerFetch } from "./support";

const PASSWORD = "correct horse battery";
// Each file its own address, so the per-IP signup limit of other suites never applies here.
const IP = `203.0.113.${Math.floor(Math.random() * 250)}`;

function uniqueEmail(tag = "owner") {
  return `${tag}-${crypto.randomUUID().slice(0, 8)}@example.test`;
}

function signup(body: unknown, ip = IP) {
  return workerFetch("http://localhost/api/signup", {
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": ip },
    body: JSON.stringify(body),
  });
}

async function count(sql: string, args: (string | number)[]): Promise<number> {
  const result = await openMgmtDb().execute({ sql, args }, "read");
  return Number(result.rows[0]?.n);
}

describe("POST /api/signup", () => {
  it("creates the owner, a provisioned tenant and a full-scope key shown once, with setup for every client", async () => {
    const email = uniqueEmail();
    const response = await signup({ email, password: PASSWORD, org_name: "Acme <Research>" });
    expect(response.status).toBe(201);
    const body = (await response.json()) as {
      tenant: { id: string; plan: string; org_name: string };
      account: { id: string; email: string };
      api_key: { key: string; scopes: string[] };
      setup: Record<string, unknown> & { claude_code: string; mcp_url: string };
    };
    expect(body.tenant).toMatchObject({ plan: "free", org_name: "Acme <Research>" });
    expect(body.account.id).toMatch(/^usr_[A-Za-z0-9]{24}$/);
    expect(body.api_key.key).toMatch(/^mk_[A-Za-z0-9]{40}$/);
    expect(body.api_key.scopes).toEqual(["mcp:tools", "mcp:read", "keys:manage", "members:manage"]);
    expect(body.setup.mcp_url).toBe("http://localhost/mcp");
    expect(body.setup.claude_code).toBe(
      `claude mcp add --transport http muninn http://localhost/mcp --header "Authorization: Bearer ${body.api_key.key}"`,
    );
    expect(body.setup.cursor).toEqual({
      file: "~/.cursor/mcp.json",
      json: {
        mcpServers: {
          muninn: { url: "http://localhost/mcp", headers: { Authorization: `Bearer ${body.api_key.key}` } },
        },
      },
    });
    expect(body.setup.mcp_json).toMatchObject({
      mcpServers: { muninn: { type: "http", url: "http://localhost/mcp" } },
    });
    expect(body.setup.oauth).toMatchObject({ url: "http://localhost/mcp" });

    // The key works on /mcp at once, against the tenant's own migrated database.
    const listed = await mcpPost(body.api_key.key, TOOLS_LIST);
    expect(listed.status).toBe(200);

    // The password is stored as a memory-hard hash carrying its parameters, never in clear.
    const row = (
      await openMgmtDb().execute(
        { sql: "SELECT password_hash FROM users WHERE id = ?", args: [body.account.id] },
        "read",
      )
    ).rows[0];
    const stored = String(row?.password_hash);
    expect(stored).not.toContain(PASSWORD);
    expect(stored).toMatch(/^scrypt\$16384\$8\$5\$/);
    expect(await verifyPassword(PASSWORD, stored)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}!`, stored)).toBe(false);
    expect(PASSWORD_PARAMS).toMatchObject({ N: 16384, r: 8, p: 5 });
  });

  it("answers 409 for an email already signed up, compared case-insensitively", async () => {
    const email = uniqueEmail("dup");
    expect((await signup({ email, password: PASSWORD, org_name: "First" })).status).toBe(201);
    const again = await signup({ email: `  ${email.toUpperCase()} `.trim(), password: PASSWORD, org_name: "Second" });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { type: "conflict", code: "email_taken" } });
    expect(
      await count("SELECT count(*) AS n FROM tenants WHERE org_name = 'Second' AND owner_email = ?", [email]),
    ).toBe(0);
  });

  it("refuses a weak password with 400 naming the rule, and bad input naming the field", async () => {
    const short = await signup({ email: uniqueEmail(), password: "short pass", org_name: "X" });
    expect(short.status).toBe(400);
    expect(await short.json()).toMatchObject({
      error: { code: "weak_password", message: "password: must be at least 12 characters" },
    });
    const common = await signup({ email: uniqueEmail(), password: "Password1234", org_name: "X" });
    expect(common.status).toBe(400);
    expect(((await common.json()) as { error: { message: string } }).error.message).toContain("commonly used");
    const badEmail = await signup({ email: "not-an-email", password: PASSWORD, org_name: "X" });
    expect(badEmail.status).toBe(400);
    expect(((await badEmail.json()) as { error: { message: string } }).error.message).toMatch(/^email:/);
    const extra = await signup({ email: uniqueEmail(), password: PASSWORD, org_name: "X", plan: "team" });
    expect(extra.status).toBe(400);
  });

  it("is limited per client address (429 with Retry-After)", async () => {
    const ip = `198.18.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    let refused: Response | null = null;
    for (let i = 0; i < 40 && !refused; i++) {
      // Invalid bodies: the limiter counts attempts, not successes, and they cost no provisioning.
      const response = await signup({ email: "x" }, ip);
      if (response.status === 429) refused = response;
      else expect(response.status).toBe(400);
    }
    expect(refused?.status).toBe(429);
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("provisioning rollback", () => {
  const steps: ProvisioningStep[] = ["create_database", "create_token", "migrate", "record_tenant_id", "commit"];

  for (const step of steps) {
    it(`leaves no tenant, account, key or database behind when ${step} fails, and the email can retry at once`, async () => {
      const email = uniqueEmail(`fail-${step}`);
      let tenant: { id: string; databaseName: string } | null = null;
      const failure = signUp(
        openMgmtDb(),
        config,
        { email, password: PASSWORD, orgName: "Doomed" },
        {
          beforeStep(current, which) {
            tenant = which;
            if (current === step) throw new Error(`injected failure at ${step}`);
          },
        },
      );
      await expect(failure).rejects.toThrow(`injected failure at ${step}`);
      if (!tenant) throw new Error("no provisioning step ran");
      const { id, databaseName } = tenant as { id: string; databaseName: string };

      expect(await count("SELECT count(*) AS n FROM tenants WHERE id = ?", [id])).toBe(0);
      expect(await count("SELECT count(*) AS n FROM users WHERE email = ?", [email])).toBe(0);
      expect(await count("SELECT count(*) AS n FROM api_keys WHERE tenant_id = ?", [id])).toBe(0);
      expect(await count("SELECT count(*) AS n FROM tenant_databases WHERE tenant_id = ?", [id])).toBe(0);
      const gone = await getDatabase(config.turso, config.dbTimeoutMs, databaseName).catch((error: unknown) => error);
      expect(gone).toBeInstanceOf(PlatformApiError);
      expect((gone as PlatformApiError).status).toBe(404);

      const retry = await signup({ email, password: PASSWORD, org_name: "Retried" });
      expect(retry.status).toBe(201);
    });
  }

  it("turns two signups racing for one email into one account and one 409, with no orphan", async () => {
    const email = uniqueEmail("race");
    const outcomes = await Promise.allSettled(
      ["A", "B"].map((org) =>
        signUp(
          openMgmtDb(),
          config,
          { email, password: PASSWORD, orgName: `Race ${org}` },
          {
            // Both pass the friendly duplicate check before either commits.
            beforeStep: (step) => (step === "commit" ? new Promise((resolve) => setTimeout(resolve, 50)) : undefined),
          },
        ),
      ),
    );
    const fulfilled = outcomes.filter((outcome) => outcome.status === "fulfilled");
    const rejected = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    const reason = (rejected[0] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(AppError);
    expect((reason as AppError).code).toBe("email_taken");
    expect(await count("SELECT count(*) AS n FROM tenants WHERE owner_email = ?", [email])).toBe(1);
  });
});

describe("POST /api/tenants (admin)", () => {
  it("creates a tenant with its owner and first key the way signup does", async () => {
    const email = uniqueEmail("admin-made");
    const response = await workerFetch("http://localhost/api/tenants", {
      method: "POST",
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ org_name: "Operator Made", email, plan: "pro" }),
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { tenant: { id: string; plan: string }; api_key: { key: string } };
    expect(body.tenant.plan).toBe("pro");
    expect((await mcpPost(body.api_key.key, TOOLS_LIST)).status).toBe(200);
    // The email is now taken for signup too.
    expect((await signup({ email, password: PASSWORD, org_name: "Again" })).status).toBe(409);
    expect(
      await count(
        "SELECT count(*) AS n FROM audit_log WHERE tenant_id = ? AND action = 'tenant.create' AND actor = 'admin'",
        [body.tenant.id],
      ),
    ).toBe(1);
  });
});
