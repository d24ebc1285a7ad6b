import { Hono } from "hono";
import { z } from "zod";
import { signUp } from "../../../shared/accounts/signup";
import type { Config } from "../../../shared/config";
import { ALL_SCOPES } from "../../../shared/tenants/scopes";
import { mailVerificationLink } from "../../console/verification-mail";
import { clientIp, ipRateLimit } from "../../middleware/ip-rate-limit";
import type { AppEnv } from "../../types";
import { parseJsonBody } from "../validation";
import { setupInstructions } from "./setup-instructions";

/** `POST /api/signup`: anyone may create an account, its tenant and a first key. */
export const signup = new Hono<AppEnv>();

const signupBody = z
  .object({
    email: z.email().max(254),
    // Length and common-password rules are checked by the domain, which names the rule broken.
    password: z.string().max(1024),
    org_name: z.string().trim().min(1).max(200),
  })
  .strict();

signup.post("/", ipRateLimit("signup"), async (c) => {
  const body = await parseJsonBody(c, signupBody);
  const { mgmtDb, config } = c.get("services");
  const created = await signUp(mgmtDb, config, {
    email: body.email,
    password: body.password,
    orgName: body.org_name,
    ip: clientIp(c),
  });
  const logger = c.get("logger");
  logger.info("account created", { tenant: created.tenant.id, user: created.userId });
  // The same verification message as a web signup; the key works meanwhile (docs/auth.md).
  c.executionCtx.waitUntil(
    mailVerificationLink(
      { mgmtDb, config, logger, email: c.env.EMAIL },
      { userId: created.userId, email: created.tenant.ownerEmail },
    ).catch((error) => logger.error("verification mail failed", { reason: String(error) })),
  );
  return c.json(signupView(created, config), 201);
});

/** The 201 body: the key (shown once) and setup for every kind of client. */
export function signupView(created: Awaited<ReturnType<typeof signUp>>, config: Config) {
  return {
    tenant: { id: created.tenant.id, org_name: created.tenant.orgName, plan: created.tenant.plan },
    account: { id: created.userId, email: created.tenant.ownerEmail },
    api_key: {
      id: created.apiKey.id,
      key: created.apiKey.key,
      prefix: created.apiKey.prefix,
      name: "default",
      scopes: ALL_SCOPES,
      note: "This key is shown once. Store it now; list and revoke keys with /api/keys.",
    },
    setup: setupInstructions(config, created.apiKey.key),
  };
}
