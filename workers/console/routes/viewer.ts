import { type ConsoleContext, signedIn } from "../context";
import type { Viewer } from "../ui/layout";

/** What every signed-in page's frame needs: who, whether their address is confirmed, and the form token. */
export function viewer(c: ConsoleContext): Viewer {
  const { account } = signedIn(c);
  return { email: account.email, verified: account.emailVerifiedAt !== null, csrf: c.get("csrf") };
}
