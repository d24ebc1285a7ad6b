/** @jsxImportSource hono/jsx */
import { actorRoleNow, type TeamActor } from "../../shared/teams/memberships";
import type { Role } from "../../shared/teams/roles";
import { clientIp } from "../middleware/ip-rate-limit";
import { asApp, type ConsoleContext, signedIn } from "./context";
import { MessagePage } from "./pages/public";
import { render } from "./render";

/** The signed-in person's role in the team the console shows (the session's current team). */
function consoleRole(c: ConsoleContext): Role {
  return signedIn(c).session.role;
}

/** The signed-in person acting on their current team, for the same domain functions the API calls. */
export function consoleTeamActor(c: ConsoleContext): TeamActor {
  const { account, session } = signedIn(c);
  return {
    userId: account.id,
    role: session.role,
    actor: `user:${account.id}`,
    via: "console",
    ip: clientIp(asApp(c)),
  };
}

/**
 * A 403 page unless the person's role in the current team is one of
 * `roles` — the console's side of the rule the API enforces with scopes
 * bounded by role and `requireOwner`; null when allowed.
 */
export function refuseUnlessRole(
  c: ConsoleContext,
  roles: readonly Role[],
  what: string,
  back: { href: string; label: string },
): Promise<Response> | null {
  const role = consoleRole(c);
  if (roles.includes(role)) return null;
  return render(
    c,
    <MessagePage title="Not allowed" message={`As a team ${role} you cannot ${what}.`} alert link={back} />,
    403,
  );
}

/**
 * `refuseUnlessRole(c, ["owner"], …)` with the role read from the database,
 * not the session cache (up to 30 s old here, and other isolates'): after
 * an ownership transfer the old owner must not pay or delete the team.
 */
export async function refuseUnlessOwnerNow(
  c: ConsoleContext,
  what: string,
  back: { href: string; label: string },
): Promise<Response | null> {
  const cached = refuseUnlessRole(c, ["owner"], what, back);
  if (cached) return cached;
  const role = await actorRoleNow(c.get("services").mgmtDb, signedIn(c).account.tenantId, consoleTeamActor(c));
  if (role === "owner") return null;
  return render(
    c,
    <MessagePage title="Not allowed" message={`As a team ${role ?? "member"} you cannot ${what}.`} alert link={back} />,
    403,
  );
}
