/**
 * What a credential (API key or OAuth token) may do. Enforced on every
 * request: `/mcp` needs `mcp:tools` or `mcp:read`, a tool that writes needs
 * `mcp:tools`, key and grant management needs `keys:manage`, and a team's
 * members and invitations need `members:manage`.
 */
export const SCOPES = ["mcp:tools", "mcp:read", "keys:manage", "members:manage"] as const;
export type Scope = (typeof SCOPES)[number];

/** Every scope: what a new tenant's first key carries. */
export const ALL_SCOPES: Scope[] = [...SCOPES];

/** What an MCP client is asked for first (the 401 challenge): using every tool. */
export const MCP_BASELINE_SCOPE: Scope = "mcp:tools";

/** A broader scope implies the narrower ones it contains (MCP requires servers to honour this). */
const IMPLIES: Record<Scope, Scope[]> = {
  "mcp:tools": ["mcp:tools", "mcp:read"],
  "mcp:read": ["mcp:read"],
  "keys:manage": ["keys:manage"],
  "members:manage": ["members:manage"],
};

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Whether `granted` covers `needed`, counting implied scopes. Unknown granted scopes cover nothing. */
export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.some((scope) => isScope(scope) && IMPLIES[scope].includes(needed));
}
