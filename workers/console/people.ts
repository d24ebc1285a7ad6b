import { createContext } from "hono/jsx";
import type { Attribution } from "../../shared/memory/attribution";
import { memberDisplayNames } from "../../shared/teams/memberships";
import { type ConsoleContext, signedIn } from "./context";

/**
 * The display names of the people named by the attributions a page shows
 * (account id → name), provided around the page so `Author` can say "Ada"
 * instead of a key's name. Only people who are or were in the signed-in
 * person's current team are resolved (`memberDisplayNames`), so an
 * attribution can never reveal an account of another team.
 */
export const People = createContext<ReadonlyMap<string, string>>(new Map());

export async function peopleNamed(
  c: ConsoleContext,
  attributions: readonly (Attribution | null | undefined)[],
): Promise<ReadonlyMap<string, string>> {
  const ids = attributions.flatMap((by) => (by?.account ? [by.account] : []));
  if (ids.length === 0) return new Map();
  return memberDisplayNames(c.get("services").mgmtDb, signedIn(c).account.tenantId, ids);
}
