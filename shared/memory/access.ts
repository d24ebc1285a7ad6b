import { AppError } from "../errors";
import { hasScope, type Scope } from "../tenants/scopes";
import type { Attribution } from "./attribution";

/**
 * Who may read and write memory, and what writing costs: the checks the
 * memory door (`door.ts`) applies to every caller, whichever door — MCP
 * tool, import, export, console — it came through.
 */

/** Reading memory needs `mcp:read` (which `mcp:tools` implies); writing it needs `mcp:tools`. */
const MEMORY_SCOPES = { read: "mcp:read", write: "mcp:tools" } as const satisfies Record<string, Scope>;
export type MemoryUse = keyof typeof MEMORY_SCOPES;

/** The credential behind a door's request: its scopes as authentication resolved them. */
export interface MemoryCaller {
  scopes: readonly string[];
  /** Who wrote it, recorded as a memory's `source` (an MCP client's name); clipped to the field's rule. */
  source?: string | null;
  /** Who is writing, recorded with every memory, version, link and issue change (`attribution.ts`). */
  attribution?: Attribution | null;
}

/**
 * A valid credential that lacks the scope a memory operation needs. Each
 * protocol renders it once: HTTP as 403 `insufficient_scope` with the
 * `WWW-Authenticate` challenge naming `scope` (RFC 6750 §3.1), MCP the same
 * with a JSON-RPC body, and a tool as a tool error.
 */
export class MissingScopeError extends AppError {
  constructor(
    readonly scope: Scope,
    message: string,
  ) {
    super("forbidden", message, { code: "insufficient_scope" });
  }
}

/** The refusal for `use` of memory by a credential with `scopes`, or null when it may. `what` names the operation. */
export function memoryAccessRefusal(scopes: readonly string[], use: MemoryUse, what: string): MissingScopeError | null {
  const needed = MEMORY_SCOPES[use];
  if (hasScope(scopes, needed)) return null;
  const has = scopes.length > 0 ? scopes.join(" ") : "no scope";
  return new MissingScopeError(
    needed,
    use === "write"
      ? `Forbidden: ${what} writes memory and this credential has ${has}; it needs ${needed}`
      : `Forbidden: ${what} reads memory and this credential has ${has}; it needs ${needed} (or mcp:tools)`,
  );
}

/** The month's quota as the meter reports it. */
export interface QuotaStanding {
  /** null: unlimited. */
  limit: number | null;
  used: number;
  resetsAt: string;
}

/**
 * The tenant's monthly quota as a door counts writes against it — the same
 * counter the tool calls use (the tenant's Durable Object). A record created
 * costs one unit; a change to existing records costs one unit per operation.
 */
export interface MemoryMeter {
  /** Count up to `units` against the quota; answers how many were granted (fewer once it is spent). */
  take(units: number): Promise<{ granted: number; quota: QuotaStanding }>;
  /** Give back units taken for records that were not created after all (a duplicate, a lost race). */
  giveBack(units: number): Promise<void>;
}

/**
 * What a refused write says: what it needed, what was left (counting a tool
 * call's own unit), that nothing was written, and when the quota resets.
 */
export function quotaSpent(needed: number, left: number, quota: QuotaStanding): AppError {
  return new AppError(
    "rate_limited",
    `Plan quota exceeded: this needs ${needed} of this month's ${quota.limit} tool calls and ${left} ` +
      `${left === 1 ? "is" : "are"} left; nothing was written. The quota resets at ${quota.resetsAt}.`,
    {
      code: "quota_exceeded",
      headers: { "Retry-After": String(Math.max(1, Math.ceil((Date.parse(quota.resetsAt) - Date.now()) / 1000))) },
    },
  );
}
