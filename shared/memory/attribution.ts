/**
 * Who wrote a memory, a version of it, a link or an issue change: recorded
 * with the row since tenant DB v4 (`0004-attribution.ts`).
 *
 * - `account`: the account that owns the credential used — the team
 *   member who made the key or granted the app, or the person signed in to
 *   the console — so a write is that member's (the console shows their name).
 * - `via`: what the account came through — an API key (by its name), an
 *   OAuth app (by the name it registered), the console, or the operator.
 * - `client`: the MCP client's own `clientInfo` (name and version) when the
 *   request made it known: from `initialize` in a session, or the request's
 *   `_meta` in the stateless era. Clients name themselves freely, so it is
 *   shown as said, never trusted for anything.
 */
export interface Attribution {
  account: string | null;
  via: { kind: "key" | "app" | "console" | "operator" | "import"; name: string | null };
  client: { name: string; version: string | null } | null;
  /** The account's name in the team, for display only: set by the console (`nameAuthors`), never stored. */
  person?: string;
}

const MAX_NAME_CHARS = 100;

const clean = (text: string | null | undefined): string | null => {
  // Control characters are dropped so a name can neither break a line in the console nor a JSON consumer's log.
  const line = (text ?? "")
    .replace(/\p{Cc}/gu, "")
    .trim()
    .slice(0, MAX_NAME_CHARS);
  return line === "" ? null : line;
};

/** The JSON stored in a `written_by` / `changed_by` / `created_by` column. */
export function attributionColumn(attribution: Attribution | null | undefined): string | null {
  if (!attribution) return null;
  const name = clean(attribution.client?.name);
  return JSON.stringify({
    account: attribution.account,
    via: { kind: attribution.via.kind, name: clean(attribution.via.name) },
    client: name ? { name, version: clean(attribution.client?.version) } : null,
  });
}

/** A stored column back as an attribution; null for rows written before attribution (or unreadable). */
export function parseAttribution(value: unknown): Attribution | null {
  if (typeof value !== "string" || value === "") return null;
  try {
    const parsed = JSON.parse(value) as Partial<Attribution>;
    if (!parsed || typeof parsed !== "object" || !parsed.via) return null;
    return {
      account: typeof parsed.account === "string" ? parsed.account : null,
      via: { kind: parsed.via.kind ?? "key", name: typeof parsed.via.name === "string" ? parsed.via.name : null },
      client:
        parsed.client && typeof parsed.client.name === "string"
          ? { name: parsed.client.name, version: parsed.client.version ?? null }
          : null,
    };
  } catch {
    return null;
  }
}

/**
 * "Ada via Claude Code 2.1 (key “laptop”)" when the person's name is known
 * (`person`, resolved from the team's members by the console), else
 * "key “laptop” via Claude Code 2.1"; "the console"; "before attribution".
 */
export function describeAttribution(attribution: Attribution | null): string {
  if (!attribution) return "before attribution";
  const { via, client, person } = attribution;
  const through =
    via.kind === "key"
      ? `key “${via.name ?? "unnamed"}”`
      : via.kind === "app"
        ? `app “${via.name ?? "unnamed"}”`
        : via.kind === "console"
          ? "the console"
          : via.kind === "import"
            ? `an import${via.name ? ` (${via.name})` : ""}`
            : "the operator";
  const clientText = client ? ` via ${[client.name, client.version].filter(Boolean).join(" ")}` : "";
  return person ? `${person}${clientText} (${through})` : `${through}${clientText}`;
}
