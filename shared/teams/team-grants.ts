import type { OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import { getAccount, ownerOf } from "../accounts/accounts";
import type { Database } from "../db/client";
import { type ConnectedClient, teamGrantsOf } from "../oauth/grants";
import { listMembers } from "./memberships";
import { managesAllCredentials, type Role } from "./roles";

/** A grant bound to the team, with the member who made it. */
export interface MemberGrant {
  userId: string;
  email: string;
  grant: ConnectedClient;
}

/**
 * The OAuth grants bound to `tenantId` that someone with `viewer`'s role
 * manages, newest first: an owner's or admin's (or a memberless operator
 * key's) every member's, anyone else's only their own. Shared by
 * `/api/oauth/grants` and the console's `/app/apps`, so both doors show and
 * revoke exactly the same grants.
 */
export async function teamGrantsInScope(
  db: Database,
  oauth: OAuthHelpers,
  tenantId: string,
  viewer: { userId: string | null; role: Role | null },
): Promise<MemberGrant[]> {
  let people: { userId: string; email: string }[];
  if (!managesAllCredentials(viewer.role)) {
    const own = viewer.userId ? await getAccount(db, viewer.userId) : null;
    people = own ? [{ userId: own.id, email: own.email }] : [];
  } else {
    people = (await listMembers(db, tenantId)).map((member) => ({ userId: member.userId, email: member.email }));
    if (people.length === 0) {
      const owner = await ownerOf(db, tenantId);
      people = owner ? [{ userId: owner.id, email: owner.email }] : [];
    }
  }
  const found: MemberGrant[] = [];
  for (const person of people) {
    // Each account's home team decides where its pre-teams grants belong (teamGrantsOf).
    const account = await getAccount(db, person.userId);
    if (!account) continue;
    for (const grant of await teamGrantsOf(oauth, account, tenantId)) found.push({ ...person, grant });
  }
  return found.sort((a, b) => b.grant.createdAt.localeCompare(a.grant.createdAt));
}
