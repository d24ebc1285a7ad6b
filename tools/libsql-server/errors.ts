/**
 * Error types of the local libSQL server.
 *
 * Two families, mirroring sqld:
 * - `HttpError`: the whole HTTP request fails (bad JSON, bad baton, auth…).
 *   The body is always JSON `{ message, code }` with content type exactly
 *   `application/json`, because the Hrana client only parses error bodies
 *   with that exact content type and then surfaces `code` as
 *   `LibsqlError.code`.
 * - `ProtoError`: a single stream request (or batch step) fails; it becomes
 *   `{ "type": "error", "error": { message, code } }` and the pipeline goes on.
 */

export interface ProtoError {
  message: string;
  code: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
  ) {
    super(message);
  }

  toJSON(): ProtoError {
    return { message: this.message, code: this.code };
  }
}

/** A request no correct client sends; sqld answers these with HTTP 400. */
export class ProtocolError extends HttpError {
  constructor(message: string, code = "PROTOCOL_ERROR") {
    super(400, message, code);
  }
}

/**
 * Convert an error thrown by the `libsql` engine into a Hrana error. The
 * engine already gives the extended result code name (e.g.
 * `SQLITE_CONSTRAINT_UNIQUE`), which is what callers match on.
 */
export function toProtoError(error: unknown): ProtoError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    // libsql reports "not an error" when asked to run an empty statement.
    if (code === "SQLITE_OK") {
      return { message: "SQL string does not contain any statement", code: "SQL_NO_STATEMENT" };
    }
    if (typeof code === "string" && code.startsWith("SQLITE_")) {
      return { message: error.message, code };
    }
    return { message: error.message, code: "SQLITE_ERROR" };
  }
  return { message: String(error), code: "SQLITE_ERROR" };
}

/** True for lock contention that is worth waiting out (not BUSY_SNAPSHOT, which never clears). */
export function isBusyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_BUSY" || code === "SQLITE_BUSY_RECOVERY" || code === "SQLITE_LOCKED";
}
