import type { Attribution } from "../../shared/memory/attribution";
import { memberDisplayNames } from "../../shared/teams/memberships";
import { type ConsoleContext, signedIn } from "./context";

/**
 * Name the people behind the attributions a page is about to show: each
 * attribution whose account is, or was, in the signed-in person's current
 * team gets that member's display name (`person`), so the page says "Ada"
 * rather than only a key's name. `memberDisplayNames` resolves only people
 * of this team, so an attribution carried over by an import from another
 * team never names an account of that team.
 */
export async function nameAuthors(
  c: ConsoleContext,
  attributions: readonly (Attribution | null | undefined)[],
): Promise<void> {
  const named = attributions.filter((by): by is Attribution => Boolean(by?.account));
  if (named.length === 0) return;
  const names = await memberDisplayNames(
    c.get("services").mgmtDb,
    signedIn(c).account.tenantId,
    named.map((by) => by.account ?? ""),
  );
  for (const by of named) {
    const name = names.get(by.account ?? "");
    if (name) by.person = name;
  }
}
