/**
 * Local libSQL server: Hrana over HTTP on the real libSQL engine, many
 * databases (one per URL path prefix), plus a slice of Turso's Platform API.
 * See README.md in this folder for routes and decisions.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DatabaseRegistry, isValidDbName, sameToken } from "./databases.js";
import { HttpError, ProtocolError } from "./errors.js";
import { type Access, HranaServer, type HranaVersion } from "./hrana.js";
import { handlePlatform } from "./platform-api.js";
import { toJson } from "./values.js";

export interface LibsqlServerOptions {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  dataDir: string;
  /**
   * If set, every request needs `Authorization: Bearer <authToken>`, or (for
   * database requests) a token minted by the Platform API for that database.
   * It is also the Platform API token.
   */
  authToken?: string;
  log?: (line: string) => void;
  /** Idle time before a stream expires and its open transaction is rolled back. Default 10 s, as sqld. */
  streamTimeoutMs?: number;
  /** How long a statement waits for another stream's write lock before SQLITE_BUSY. Default 5 s. */
  busyTimeoutMs?: number;
}

export interface LibsqlServer {
  /** e.g. http://127.0.0.1:8080 — a database lives at `${url}/<name>/`. */
  url: string;
  port: number;
  /** The server's own process, when it runs in one (child.ts); absent when it shares the caller's. */
  pid?: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly contentType = "application/json",
  ) {}
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      reject(new HttpError(413, `Request body exceeds ${MAX_BODY_BYTES} bytes`, "PAYLOAD_TOO_LARGE"));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        chunks.length = 0;
        reject(new HttpError(413, `Request body exceeds ${MAX_BODY_BYTES} bytes`, "PAYLOAD_TOO_LARGE"));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseJson(data: Buffer): unknown {
  try {
    return JSON.parse(data.toString("utf8"));
  } catch (error) {
    throw new ProtocolError(
      `Cannot deserialize client message from JSON: ${(error as Error).message}`,
      "JSON_DESERIALIZE",
    );
  }
}

function bearer(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
}

export async function startLibsqlServer(opts: LibsqlServerOptions): Promise<LibsqlServer> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? (() => {});
  const registry = new DatabaseRegistry(opts.dataDir);
  const hrana = new HranaServer(registry, {
    streamTimeoutMs: opts.streamTimeoutMs ?? 10_000,
    busyTimeoutMs: opts.busyTimeoutMs ?? 5_000,
  });
  let authority = "";

  function authorize(req: IncomingMessage, db?: string): Access {
    if (opts.authToken === undefined) return { readOnly: false };
    const token = bearer(req);
    if (token !== undefined) {
      if (sameToken(token, opts.authToken)) return { readOnly: false };
      const minted = db === undefined ? null : registry.checkToken(db, token);
      if (minted) return minted;
    }
    throw new HttpError(
      401,
      token === undefined ? "Authorization header with a Bearer token is required" : "Invalid or expired token",
      "UNAUTHORIZED",
    );
  }

  async function route(req: IncomingMessage, url: URL): Promise<Reply> {
    const method = req.method ?? "GET";
    const path = url.pathname;
    if (path === "/" || path === "/health") return new Reply(200, "ok", "text/plain");

    if (path.startsWith("/v1/organizations/")) {
      authorize(req);
      const raw = method === "POST" ? await readBody(req) : Buffer.alloc(0);
      const result = handlePlatform(
        { registry, authority, beforeDelete: (name) => hrana.closeStreamsFor(name) },
        method,
        url,
        () => (raw.length === 0 ? undefined : parseJson(raw)),
      );
      if (result) return new Reply(result.status, result.body);
      return new Reply(404, { error: `no Platform API route for ${method} ${path}` });
    }

    const [, db = "", ...restParts] = path.split("/");
    const rest = restParts.join("/").replace(/\/$/, "");
    if (!isValidDbName(db)) {
      throw new HttpError(
        400,
        `Invalid database name ${JSON.stringify(db)}: use 1-63 characters, lowercase letters, digits and dashes, not starting with a dash`,
        "INVALID_DATABASE_NAME",
      );
    }
    if (/^v[23](-protobuf)?$/.test(db) && /^(pipeline|cursor)?$/.test(rest)) {
      // A client URL without the database (or without its trailing slash) resolves to /v2/pipeline.
      throw new HttpError(
        404,
        "No database in the URL: use <server>/<database>/ as the client URL, with the trailing slash",
        "DATABASE_NOT_IN_URL",
      );
    }

    const expect = (wanted: string) => {
      if (method !== wanted) throw new HttpError(405, `Method ${method} not allowed on ${path}`, "METHOD_NOT_ALLOWED");
    };
    switch (rest) {
      case "":
      case "health":
        expect("GET");
        return new Reply(200, "ok", "text/plain");
      // Version probes are sent without credentials by the client.
      case "v2":
      case "v3":
        expect("GET");
        return new Reply(200, `Hello, this is HTTP API ${rest} (Hrana over HTTP)`, "text/plain");
      case "v2/pipeline":
      case "v3/pipeline": {
        expect("POST");
        const access = authorize(req, db);
        const body = parseJson(await readBody(req));
        const version: HranaVersion = rest === "v2/pipeline" ? 2 : 3;
        return new Reply(200, await hrana.pipeline(db, version, body, access));
      }
      default:
        // Including v3-protobuf and v3/cursor: the client then falls back to JSON v2.
        throw new HttpError(404, `Not found: ${path} (supported: /${db}/v2/pipeline, /${db}/v3/pipeline)`, "NOT_FOUND");
    }
  }

  function send(res: ServerResponse, reply: Reply): void {
    const data = reply.contentType === "application/json" ? toJson(reply.body) : String(reply.body);
    res.writeHead(reply.status, {
      // Exactly this value: the Hrana client only parses JSON error bodies when it matches verbatim.
      "content-type": reply.contentType,
      "content-length": Buffer.byteLength(data),
    });
    res.end(data);
  }

  const server = createServer((req, res) => {
    const started = Date.now();
    // Browsers may call it only from pages served on loopback (a local
    // dashboard, the web client in a dev page): with "*", any web page the
    // developer visits could read the local databases with a token it got.
    const origin = req.headers.origin;
    if (origin && isLoopbackOrigin(origin)) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "origin");
    }
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
        "access-control-allow-headers": "authorization, content-type, x-turso-encryption-key",
        "access-control-max-age": "86400",
      });
      res.end();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      url = new URL("http://localhost/");
    }
    route(req, url)
      .catch((error: unknown): Reply => {
        if (error instanceof HttpError) {
          const body = url.pathname.startsWith("/v1/organizations/") ? { error: error.message } : error.toJSON();
          return new Reply(error.status, body);
        }
        log(
          `libsql-server: internal error on ${req.method} ${url.pathname}: ${(error as Error)?.stack ?? String(error)}`,
        );
        return new Reply(500, {
          message: `Internal server error: ${(error as Error)?.message ?? String(error)}`,
          code: "INTERNAL_ERROR",
        });
      })
      .then((reply) => {
        if (reply.status === 413) res.setHeader("connection", "close");
        send(res, reply);
        log(`${req.method} ${url.pathname} ${reply.status} ${Date.now() - started}ms`);
      })
      .catch((error: unknown) => {
        log(`libsql-server: failed to send a response: ${String(error)}`);
        res.destroy();
      });
  });
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  authority = `${urlHost}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${authority}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => {
        hrana.close();
        registry.closeAll();
      });
      return closing;
    },
  };
}

/** An `http(s)://` origin on a loopback host (localhost, 127.0.0.0/8, [::1]), any port. */
function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    const host = url.hostname;
    return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  } catch {
    return false;
  }
}
