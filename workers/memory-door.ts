import type { Context } from "hono";
import type { VersionedSettings } from "../durable-objects/tenant/contract";
import type { Database } from "../shared/db/client";
import { unavailable } from "../shared/errors";
import { describeError } from "../shared/logging";
import type { MemoryMeter } from "../shared/memory/access";
import type { Attribution } from "../shared/memory/attribution";
import { MemoryDoor } from "../shared/memory/door";
import { ROLE_SCOPES, type Role } from "../shared/teams/roles";
import { ALL_SCOPES } from "../shared/tenants/scopes";
import type { AppEnv } from "./types";

/**
 * Opening the memory door (`shared/memory/door.ts`) for a request: the
 * tenant's database, the request's credential, and the quota meter of the
 * tenant's Durable Object. Every route and tool that touches memory gets its
 * door here.
 */

/**
 * The tenant's quota as a door's meter: units are counted in the tenant's
 * Durable Object, the counter tool calls are charged to. `prepaid` units
 * were charged already — an MCP tool call is charged by the dispatch before
 * it runs, and that charge pays for the first record the call writes — so
 * only what goes beyond them is reserved; prepaid units are never given
 * back (the call ran). Fails closed: an unreachable object writes nothing.
 */
function tenantMeter(c: Context<AppEnv>, tenantId: string, prepaid: number, settings?: VersionedSettings): MemoryMeter {
  const tenant = c.env.TENANT_DO.getByName(tenantId);
  let free = prepaid;
  let reserved = 0;
  return {
    async take(units) {
      const fromPrepaid = Math.min(free, units);
      free -= fromPrepaid;
      const rest = units - fromPrepaid;
      // Nothing beyond what was paid: no round trip (the quota is not consulted when all is granted).
      if (rest === 0) return { granted: units, quota: { limit: null, used: 0, resetsAt: new Date().toISOString() } };
      let result: Awaited<ReturnType<typeof tenant.reserveToolCalls>>;
      try {
        result = await tenant.reserveToolCalls(rest, settings);
      } catch (error) {
        c.get("logger").error("admission unavailable", { tenant: tenantId, ...describeError(error) });
        throw unavailable("admission temporarily unavailable: nothing was written; retry shortly", { cause: error });
      }
      reserved += result.granted;
      return { granted: fromPrepaid + result.granted, quota: result.quota };
    },
    async giveBack(units) {
      const back = Math.min(units, reserved);
      if (back === 0) return;
      reserved -= back;
      await tenant.releaseToolCalls(back);
    },
  };
}

/** An MCP client as it named itself (`clientInfo`), when the request made it known. */
export interface ClientNamed {
  name: string;
  version: string | null;
}

/**
 * The door for the authenticated tenant's own request (API key or OAuth
 * token). What it writes is attributed to the credential's account, through
 * the key (by name) or the OAuth app, and the MCP client when known.
 */
export function tenantDoor(c: Context<AppEnv>, options: { prepaid?: number; client?: ClientNamed | null } = {}) {
  const auth = c.get("auth");
  const { tenantId, db, scopes } = auth;
  const client = options.client?.name ? options.client : null;
  const attribution: Attribution = {
    account: auth.userId,
    via: auth.keyId
      ? { kind: "key", name: auth.keyName ?? null }
      : { kind: "app", name: auth.oauth?.clientName ?? auth.oauth?.clientId ?? null },
    client,
  };
  return new MemoryDoor(
    c.get("services").tenantDb(tenantId, db),
    { scopes, source: client?.name ?? null, attribution },
    tenantMeter(c, tenantId, options.prepaid ?? 0),
  );
}

/**
 * The door for the operator (`ADMIN_TOKEN`, already checked by `requireAdmin`):
 * every scope, but the tenant's quota and field rules all the same.
 */
export function operatorDoor(c: Context<AppEnv>, tenantId: string, db: Database, settings: VersionedSettings) {
  return new MemoryDoor(
    db,
    {
      scopes: ALL_SCOPES,
      source: null,
      attribution: { account: null, via: { kind: "operator", name: null }, client: null },
    },
    tenantMeter(c, tenantId, 0, settings),
  );
}

/**
 * The door for a person signed in to the console (the session already
 * proved who): what their role in the team allows over its memory — a
 * viewer's door refuses writes like a viewer's key would — with the
 * tenant's quota and field rules all the same.
 */
export function memberDoor(c: Context<AppEnv>, tenantId: string, db: Database, accountId: string, role: Role) {
  return new MemoryDoor(
    db,
    {
      scopes: ROLE_SCOPES[role],
      source: null,
      attribution: { account: accountId, via: { kind: "console", name: null }, client: null },
    },
    tenantMeter(c, tenantId, 0),
  );
}
