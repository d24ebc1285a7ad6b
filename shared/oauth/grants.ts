import type { OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import { isoFromSeconds } from "../db/row-values";

/** An app the account connected through OAuth, as its owner sees it. */
export interface ConnectedClient {
  grantId: string;
  clientId: string;
  clientName: string | null;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  /** The team the grant is bound to, from its metadata; null for grants made before teams (the account's home team). */
  tenantId: string | null;
}

/** Every grant of the account (all pages), newest first. */
async function listConnectedClients(oauth: OAuthHelpers, userId: string): Promise<ConnectedClient[]> {
  const clients: ConnectedClient[] = [];
  let cursor: string | undefined;
  do {
    const page = await oauth.listUserGrants(userId, cursor ? { cursor } : {});
    for (const grant of page.items) {
      const metadata = (grant.metadata ?? {}) as { clientName?: string | null; tenantId?: string };
      clients.push({
        grantId: grant.id,
        clientId: grant.clientId,
        clientName: metadata.clientName ?? null,
        scopes: grant.scope,
        createdAt: isoFromSeconds(grant.createdAt),
        expiresAt: grant.expiresAt ? isoFromSeconds(grant.expiresAt) : null,
        tenantId: typeof metadata.tenantId === "string" ? metadata.tenantId : null,
      });
    }
    cursor = page.cursor;
  } while (cursor);
  return clients.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/**
 * The account's grants bound to one team. Grants made before teams carry no
 * team in their metadata; they were made when the account had only its
 * home team, so they count as that team's.
 */
export async function teamGrantsOf(
  oauth: OAuthHelpers,
  account: { id: string; tenantId: string },
  tenantId: string,
): Promise<ConnectedClient[]> {
  const grants = await listConnectedClients(oauth, account.id);
  return grants.filter((grant) => (grant.tenantId ?? account.tenantId) === tenantId);
}

/** Revoke the account's grants bound to one team (the member left or was removed); how many. */
export async function revokeTeamGrants(
  oauth: OAuthHelpers,
  account: { id: string; tenantId: string },
  tenantId: string,
): Promise<number> {
  const grants = await teamGrantsOf(oauth, account, tenantId);
  for (const grant of grants) await oauth.revokeGrant(grant.grantId, account.id);
  return grants.length;
}
