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
}

/** Every grant of the account (all pages), newest first. */
export async function listConnectedClients(oauth: OAuthHelpers, userId: string): Promise<ConnectedClient[]> {
  const clients: ConnectedClient[] = [];
  let cursor: string | undefined;
  do {
    const page = await oauth.listUserGrants(userId, cursor ? { cursor } : {});
    for (const grant of page.items) {
      const metadata = (grant.metadata ?? {}) as { clientName?: string | null };
      clients.push({
        grantId: grant.id,
        clientId: grant.clientId,
        clientName: metadata.clientName ?? null,
        scopes: grant.scope,
        createdAt: isoFromSeconds(grant.createdAt),
        expiresAt: grant.expiresAt ? isoFromSeconds(grant.expiresAt) : null,
      });
    }
    cursor = page.cursor;
  } while (cursor);
  return clients.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Revoke one grant of the account and every token issued under it; false if it has no such grant. */
export async function revokeConnectedClient(oauth: OAuthHelpers, userId: string, grantId: string): Promise<boolean> {
  const grants = await listConnectedClients(oauth, userId);
  if (!grants.some((grant) => grant.grantId === grantId)) return false;
  await oauth.revokeGrant(grantId, userId);
  return true;
}

/** Revoke every grant of the account (account deletion); returns how many were revoked. */
export async function revokeAllConnectedClients(oauth: OAuthHelpers, userId: string): Promise<number> {
  const grants = await listConnectedClients(oauth, userId);
  for (const grant of grants) await oauth.revokeGrant(grant.grantId, userId);
  return grants.length;
}
