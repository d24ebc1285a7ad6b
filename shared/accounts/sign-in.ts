import type { Database } from "../db/client";
import { type Account, findAccountByEmail, updatePasswordHash } from "./accounts";
import { hashPassword, needsRehash, verifyPassword } from "./passwords";

/**
 * A real hash of nothing anyone knows, verified when the email is unknown so
 * timing does not reveal accounts. The hash is kept, not the promise of it:
 * a promise made by one request and awaited by another would tie the second
 * to the first's lifetime in workerd.
 */
let decoy: string | null = null;

/**
 * Check an email and password. Null for an unknown email, a wrong password
 * or an account without one — the caller says "wrong email or password"
 * for all three. A hash made with weaker parameters than today's is replaced.
 */
export async function verifySignIn(mgmtDb: Database, email: string, password: string): Promise<Account | null> {
  const account = await findAccountByEmail(mgmtDb, email);
  if (!account?.passwordHash) {
    decoy ??= await hashPassword(crypto.randomUUID());
    await verifyPassword(password, decoy);
    return null;
  }
  if (!(await verifyPassword(password, account.passwordHash))) return null;
  if (needsRehash(account.passwordHash)) await updatePasswordHash(mgmtDb, account.id, await hashPassword(password));
  return account;
}
