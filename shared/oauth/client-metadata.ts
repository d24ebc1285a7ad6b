import { hasRefusedControl } from "../text";

/**
 * Rules every OAuth client's metadata meets, whether it registers itself
 * (RFC 7591 `POST /oauth/register`) or publishes a Client ID Metadata
 * Document: whatever a client names itself is shown to a person on the
 * consent page and in the list of connected apps, and is stored for as long
 * as the client exists. The library checks the protocol (URI shapes, grant
 * and auth-method combinations); these bound what it does not.
 */

/** Characters of `client_name`: enough for any product name, too few to write a paragraph on the consent page. */
export const MAX_CLIENT_NAME_CHARS = 100;
/** Loopback redirects already match any port (RFC 8252), so a client needs only one per path and scheme. */
export const MAX_REDIRECT_URIS = 10;
/** Any one string in the document (URIs included). */
const MAX_STRING_CHARS = 2048;

function stringProblem(path: string, value: unknown): string | null {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = stringProblem(`${path}[${index}]`, item);
      if (problem) return problem;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const problem = stringProblem(path ? `${path}.${key}` : key, item);
      if (problem) return problem;
    }
    return null;
  }
  if (typeof value !== "string") return null;
  // C0 and C1 controls (NUL truncates in the database and logs; newlines forge log lines) and bidirectional
  // formatting (it makes "Evil ‮ppA" read as another name on the consent page): the one rule of shared/text.ts.
  if (hasRefusedControl(value, "line")) return `${path} contains control or bidirectional formatting characters`;
  if (value.length > MAX_STRING_CHARS) return `${path} is longer than ${MAX_STRING_CHARS} characters`;
  return null;
}

/** What is wrong with a client's metadata by these rules, said for the client's developer, or null. */
export function clientMetadataProblem(metadata: Record<string, unknown>): string | null {
  const name = metadata.client_name;
  if (typeof name === "string" && [...name].length > MAX_CLIENT_NAME_CHARS) {
    return `client_name is longer than ${MAX_CLIENT_NAME_CHARS} characters`;
  }
  const redirects = metadata.redirect_uris;
  if (Array.isArray(redirects) && redirects.length > MAX_REDIRECT_URIS) {
    return `at most ${MAX_REDIRECT_URIS} redirect_uris may be registered`;
  }
  return stringProblem("", metadata);
}
