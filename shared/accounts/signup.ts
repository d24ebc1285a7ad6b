import { LibsqlError } from "@libsql/client/web";
import type { Config } from "../config";
import type { Database } from "../db/client";
import { AppError } from "../errors";
import type { Plan } from "../plans";
import { ALL_SCOPES } from "../tenants/scopes";
import { type CreatedTenant, createTenant, type ProvisioningHooks } from "../tenants/tenants";
import { emailTaken, newUserId, normalizeEmail } from "./accounts";
import { hashPassword, passwordProblem } from "./passwords";

export interface SignupInput {
  email: string;
  /** Null only when the operator creates an owner who will not sign in with a password. */
  password: string | null;
  orgName: string;
  plan?: Plan;
  actor?: string;
  ip?: string | null;
}

export interface SignedUp extends CreatedTenant {
  apiKey: NonNullable<CreatedTenant["apiKey"]>;
  userId: string;
}

function emailConflict(): AppError {
  return new AppError("conflict", "email: an account with this email already exists; sign in instead", {
    code: "email_taken",
  });
}

/**
 * Create an owner account and its tenant: password checked and hashed, the
 * tenant's database provisioned and migrated, and tenant, account, database
 * record, a first key with every scope and the audit entry written in one
 * transaction. A failure at any step leaves nothing behind (see
 * `createTenant`), so the same email can retry at once.
 */
export async function signUp(
  mgmtDb: Database,
  config: Config,
  input: SignupInput,
  hooks?: ProvisioningHooks,
): Promise<SignedUp> {
  if (input.password !== null) {
    const problem = passwordProblem(input.password, input.email);
    if (problem) throw new AppError("invalid_request", problem, { code: "weak_password" });
  }
  const email = normalizeEmail(input.email);
  // A fast, friendly answer for the common case; the unique index decides races.
  if (await emailTaken(mgmtDb, email)) throw emailConflict();
  const passwordHash = input.password === null ? null : await hashPassword(input.password);
  const userId = newUserId();
  try {
    const created = await createTenant(
      mgmtDb,
      config,
      {
        orgName: input.orgName,
        ownerEmail: email,
        plan: input.plan ?? "free",
        firstKeyName: "default",
        firstKeyScopes: ALL_SCOPES,
        owner: { id: userId, passwordHash },
        actor: input.actor ?? `user:${userId}`,
        ip: input.ip ?? null,
      },
      hooks,
    );
    if (!created.apiKey) throw new Error("tenant created without its first key");
    return { ...created, apiKey: created.apiKey, userId };
  } catch (error) {
    if (error instanceof LibsqlError && /UNIQUE constraint failed: users\.email/.test(error.message)) {
      throw emailConflict();
    }
    throw error;
  }
}
