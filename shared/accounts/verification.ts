import type { Database } from "../db/client";
import { AppError } from "../errors";
import { ownerOf } from "./accounts";

/**
 * What an unverified account may not do yet: change billing (and, when
 * teams arrive, invite members). Everything else works from the first
 * minute, so a person can connect a client before opening their mail.
 * Tenants without an owner account (made by the operator) are not limited:
 * there is no address to verify.
 */
export async function assertOwnerVerified(mgmtDb: Database, tenantId: string, what: string): Promise<void> {
  const owner = await ownerOf(mgmtDb, tenantId);
  if (owner && owner.emailVerifiedAt === null) {
    throw new AppError(
      "forbidden",
      `Confirm your account's email address before you ${what}: open the link we sent to it, or send a new one from the console.`,
      { code: "email_unverified" },
    );
  }
}
