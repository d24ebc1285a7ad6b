import type { SessionRecord } from "../../durable-objects/tenant/contract";
import type { Database } from "../../shared/db/client";

/**
 * Whether a new key (or any OAuth grant) has made its first MCP request
 * since the connect page showed it. Two facts the service already keeps:
 * the key's `last_used_at` (set when it is first verified) and the
 * tenant's MCP sessions in its Durable Object, which carry the client's
 * `clientInfo` from `initialize`. The newest session begun after `since`
 * names the client; a key used without one still counts as connected.
 */
export interface Connection {
  clientName: string | null;
  clientVersion: string | null;
  at: string;
}

export async function firstConnection(
  mgmtDb: Database,
  tenantId: string,
  keyId: string,
  since: number,
  sessions: SessionRecord[],
): Promise<Connection | null> {
  const recent = sessions.filter((session) => session.createdAt >= since).sort((a, b) => a.createdAt - b.createdAt)[0];
  const result = await mgmtDb.execute(
    { sql: "SELECT last_used_at FROM api_keys WHERE id = ? AND tenant_id = ?", args: [keyId, tenantId] },
    "read",
  );
  const lastUsed = result.rows[0]?.last_used_at;
  if (recent) {
    return {
      clientName: recent.clientInfo?.name ?? null,
      clientVersion: recent.clientInfo?.version ?? null,
      at: new Date(recent.createdAt).toISOString(),
    };
  }
  if (lastUsed != null) return { clientName: null, clientVersion: null, at: String(lastUsed) };
  return null;
}

export function describeConnection(connection: Connection): string {
  const name = [connection.clientName ?? "a client", connection.clientVersion].filter(Boolean).join(" ");
  const time = connection.at.replace("T", " ").slice(0, 19);
  return `Connected: ${name} at ${time} UTC`;
}
