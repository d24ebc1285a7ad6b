/**
 * The slice of Turso's Platform API that provisioning code uses, with
 * Turso's request and response shapes, so the same code runs against
 * api.turso.tech and this server. The organization slug is accepted but
 * ignored: one server is one organization.
 *
 * `Hostname` is `<host>:<port>/<name>`, so the usual
 * `${scheme}://${Hostname}/` gives a working database URL here (scheme
 * `http`) as it does on Turso (scheme `https`).
 */
import { type DatabaseInfo, type DatabaseRegistry, isValidDbName } from "./databases.js";

export interface PlatformResponse {
  status: number;
  body: unknown;
}

export interface PlatformContext {
  registry: DatabaseRegistry;
  /** `host:port` of this server as clients reach it. */
  authority: string;
  /** Called before a database is deleted, to close its open streams. */
  beforeDelete(name: string): void;
}

const ROUTE = /^\/v1\/organizations\/([A-Za-z0-9_.-]+)\/databases(?:\/([^/]+)(\/auth\/tokens)?)?\/?$/;
const UNITS: Record<string, number> = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** Turso errors are `{ "error": "<message>" }`. */
function fail(status: number, error: string): PlatformResponse {
  return { status, body: { error } };
}

function describe(info: DatabaseInfo, authority: string) {
  return {
    Name: info.name,
    DbId: info.dbId,
    Hostname: `${authority}/${info.name}`,
    block_reads: false,
    block_writes: false,
    allow_attach: false,
    regions: ["local"],
    primaryRegion: "local",
    type: "logical",
    version: "local",
    group: info.group,
    is_schema: false,
    schema: "",
    sleeping: false,
    delete_protection: false,
  };
}

/** Parse Turso's expiration syntax (`never`, or e.g. `2w1d30m`) into epoch ms, null for never. */
function parseExpiration(value: string | null, now = Date.now()): number | null | undefined {
  if (value === null || value === "" || value === "never") return null;
  if (!/^(\d+[wdhms])+$/.test(value)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)([wdhms])/g)) ms += Number(amount) * (UNITS[unit as string] ?? 0);
  return now + ms;
}

/** Handle a Platform API request, or return undefined if the path is not one. */
export function handlePlatform(
  ctx: PlatformContext,
  method: string,
  url: URL,
  body: () => unknown,
): PlatformResponse | undefined {
  const match = ROUTE.exec(url.pathname);
  if (!match) return undefined;
  const [, , name, tokens] = match;
  const { registry } = ctx;

  if (name === undefined) {
    if (method === "GET") {
      const group = url.searchParams.get("group");
      const databases = registry.list().filter((db) => group === null || db.group === group);
      return { status: 200, body: { databases: databases.map((db) => describe(db, ctx.authority)) } };
    }
    if (method === "POST") {
      const input = body();
      if (typeof input !== "object" || input === null) return fail(400, "request body must be a JSON object");
      const { name: newName, group } = input as { name?: unknown; group?: unknown };
      if (typeof newName !== "string" || !isValidDbName(newName)) {
        return fail(
          400,
          "invalid database name: use 1-63 characters, lowercase letters, digits and dashes, not starting with a dash",
        );
      }
      if (group !== undefined && typeof group !== "string") return fail(400, "`group` must be a string");
      if (!registry.create(newName, group ?? "default")) return fail(409, `database ${newName} already exists`);
      const info = registry.get(newName) as DatabaseInfo;
      const { DbId, Hostname, Name } = describe(info, ctx.authority);
      return { status: 200, body: { database: { DbId, Hostname, Name } } };
    }
    return fail(405, `method ${method} not allowed`);
  }

  const info = isValidDbName(name) ? registry.get(name) : undefined;
  if (!info) return fail(404, `could not find database with name ${name}: record not found`);

  if (tokens) {
    if (method !== "POST") return fail(405, `method ${method} not allowed`);
    const expiresAt = parseExpiration(url.searchParams.get("expiration"));
    if (expiresAt === undefined) return fail(400, "invalid expiration: use `never` or a duration such as 2w1d30m");
    const authorization = url.searchParams.get("authorization") ?? "full-access";
    if (authorization !== "full-access" && authorization !== "read-only") {
      return fail(400, "invalid authorization: use full-access or read-only");
    }
    return { status: 200, body: { jwt: registry.mintToken(info.name, expiresAt, authorization === "read-only") } };
  }
  if (method === "GET") return { status: 200, body: { database: describe(info, ctx.authority) } };
  if (method === "DELETE") {
    ctx.beforeDelete(info.name);
    registry.delete(info.name);
    return { status: 200, body: { database: info.name } };
  }
  return fail(405, `method ${method} not allowed`);
}
