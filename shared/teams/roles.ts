import type { Scope } from "../tenants/scopes";

/**
 * Roles in a team. The role bounds every credential its member makes: a
 * key or an OAuth grant is worth at most what `ROLE_SCOPES` gives the role,
 * whatever scopes it was created with, and lowering a role lowers every
 * credential of that person at their next verification (docs/auth.md).
 */
const ROLES = ["owner", "admin", "member", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/** The roles an invitation or a role change may give; `owner` only through a transfer the new owner accepts. */
export const ASSIGNABLE_ROLES = ["admin", "member", "viewer"] as const;
export type AssignableRole = (typeof ASSIGNABLE_ROLES)[number];

/**
 * The most a credential of each role can carry. A member keeps `keys:manage`
 * for their own keys and apps (the routes narrow it to the member's own);
 * a viewer reads memory and nothing else, so a viewer's agent can never
 * write, and a viewer cannot mint a key that could.
 */
export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  owner: ["mcp:tools", "mcp:read", "keys:manage", "members:manage"],
  admin: ["mcp:tools", "mcp:read", "keys:manage", "members:manage"],
  member: ["mcp:tools", "mcp:read", "keys:manage"],
  viewer: ["mcp:read"],
};

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/**
 * What a credential may do: its own scopes within its member's role. A
 * credential without a member (tenants the operator made without an owner
 * account) keeps its scopes. `mcp:tools` held by a viewer becomes the
 * `mcp:read` it contains, so a viewer's old agent keeps reading.
 */
export function boundScopes(scopes: readonly string[], role: Role | null): string[] {
  if (role === null) return [...scopes];
  const allowed = ROLE_SCOPES[role];
  const bounded = new Set<string>();
  for (const scope of scopes) {
    if ((allowed as readonly string[]).includes(scope)) bounded.add(scope);
    else if (scope === "mcp:tools" && allowed.includes("mcp:read")) bounded.add("mcp:read");
  }
  return [...bounded];
}

/** Scopes asked for that the role cannot carry (empty when all can). */
export function scopesBeyondRole(scopes: readonly string[], role: Role | null): string[] {
  if (role === null) return [];
  return scopes.filter((scope) => !(ROLE_SCOPES[role] as readonly string[]).includes(scope));
}

/** Whether this role manages everyone's keys and apps (else only its own). */
export function managesAllCredentials(role: Role | null): boolean {
  return role === null || role === "owner" || role === "admin";
}

/** Rank for "may an actor change this person": owners outrank admins, admins everyone else. */
const RANK: Record<Role, number> = { owner: 3, admin: 2, member: 1, viewer: 0 };

/** Whether `actor` may change or remove a member holding `target` (never the owner: transfer first). */
export function mayChangeMember(actor: Role | null, target: Role): boolean {
  if (target === "owner") return false;
  if (actor === null || actor === "owner") return true;
  return actor === "admin" && RANK[target] <= RANK.admin;
}
