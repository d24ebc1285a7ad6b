import { randomString, sha256Hex } from "../crypto/encoding";
import type { Database, Statement } from "../db/client";

/**
 * Single-use links sent by email. The link carries a random token (43
 * characters, ~256 bits); only its SHA-256 is stored, so the table cannot be
 * turned into working links, and the token is never logged.
 *
 * Lifetimes: a verification link lasts 24 hours (people read mail late); a
 * password reset lasts 30 minutes (it grants the account to whoever holds
 * it); a new-address confirmation lasts 24 hours like a verification.
 */
export type EmailTokenPurpose = "verify" | "reset" | "change_email";

const EMAIL_TOKEN_TTL_MS: Record<EmailTokenPurpose, number> = {
  verify: 24 * 60 * 60_000,
  reset: 30 * 60_000,
  change_email: 24 * 60 * 60_000,
};

export interface EmailToken {
  purpose: EmailTokenPurpose;
  userId: string;
  email: string;
  returnTo: string | null;
  expiresAt: string;
}

/**
 * A new link token for `purpose`. Earlier unused tokens of the same purpose
 * for this account stop working: only the newest link in the inbox works,
 * so an old message found later opens nothing.
 */
export async function issueEmailToken(
  mgmtDb: Database,
  input: { purpose: EmailTokenPurpose; userId: string; email: string; returnTo?: string | null },
  now = Date.now(),
): Promise<string> {
  const token = randomString(43);
  const expiresAt = new Date(now + EMAIL_TOKEN_TTL_MS[input.purpose]).toISOString();
  await mgmtDb.batch(
    [
      {
        sql: "DELETE FROM email_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL",
        args: [input.userId, input.purpose],
      },
      {
        sql: `INSERT INTO email_tokens (token_hash, purpose, user_id, email, return_to, created_at, expires_at)
              VALUES (?, ?, ?, ?, ?, ?, ?)`,
        args: [
          await sha256Hex(token),
          input.purpose,
          input.userId,
          input.email,
          input.returnTo ?? null,
          new Date(now).toISOString(),
          expiresAt,
        ],
      },
    ],
    "write",
  );
  return token;
}

/** The unused, unexpired token of this purpose, without using it (to render the form a link opens). */
export async function peekEmailToken(
  mgmtDb: Database,
  purpose: EmailTokenPurpose,
  token: string,
  now = Date.now(),
): Promise<EmailToken | null> {
  if (!/^[A-Za-z0-9]{43}$/.test(token)) return null;
  const result = await mgmtDb.execute(
    {
      sql: `SELECT * FROM email_tokens WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`,
      args: [await sha256Hex(token), purpose, new Date(now).toISOString()],
    },
    "read",
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    purpose,
    userId: String(row.user_id),
    email: String(row.email),
    returnTo: row.return_to == null ? null : String(row.return_to),
    expiresAt: String(row.expires_at),
  };
}

/**
 * Use a token once, then apply `effects` (one transaction). The claim is its
 * own statement, guarded so exactly one of two racing uses wins; the effects
 * run only for the winner. Should the effects fail after the claim, the link
 * is spent and nothing of its change is applied: the person asks for a new
 * link. Null when the token is unknown, used, expired or lost the race.
 */
export async function consumeEmailToken(
  mgmtDb: Database,
  purpose: EmailTokenPurpose,
  token: string,
  effects: (found: EmailToken) => Statement[],
  now = Date.now(),
): Promise<EmailToken | null> {
  const found = await peekEmailToken(mgmtDb, purpose, token, now);
  if (!found) return null;
  const nowIso = new Date(now).toISOString();
  const claim = await mgmtDb.execute(
    {
      sql: "UPDATE email_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
      args: [nowIso, await sha256Hex(token), nowIso],
    },
    "write",
  );
  if (claim.rowsAffected !== 1) return null;
  const statements = effects(found);
  if (statements.length > 0) await mgmtDb.batch(statements, "write");
  return found;
}

/** Statements for a verified address: the account's email is marked verified if it is still the one the link named. */
export function markVerifiedStatement(found: EmailToken, now = Date.now()): Statement {
  return {
    sql: "UPDATE users SET email_verified_at = ? WHERE id = ? AND email = ?",
    args: [new Date(now).toISOString(), found.userId, found.email],
  };
}
