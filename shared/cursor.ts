import type { z } from "zod";
import { AppError } from "./errors";

/**
 * Opaque page cursors: base64url of JSON, so a client passes them back as
 * they are (they are safe in a URL) without being invited to interpret them.
 * One codec for every paginated list, REST and MCP alike.
 */
export function encodeCursor(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The value inside a cursor this service issued, checked against `schema`.
 * Anything else is a 400 `invalid_cursor` naming the list it should come from.
 * Plain base64 decodes too, so cursors issued before the lists shared this
 * codec keep working.
 */
export function decodeCursor<T extends z.ZodType>(schema: T, cursor: string, issuer: string): z.infer<T> {
  try {
    return schema.parse(JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))));
  } catch {
    throw new AppError("invalid_request", `cursor: not a cursor returned by ${issuer}`, { code: "invalid_cursor" });
  }
}

/**
 * The body of one page of a REST list: `{ object: "list", data, has_more,
 * next_cursor }`, the cursor made from the page's last item when more follow.
 */
export function listPage<T>(
  items: T[],
  hasMore: boolean,
  view: (item: T) => unknown,
  cursorOf: (last: T) => unknown,
): { object: "list"; data: unknown[]; has_more: boolean; next_cursor: string | null } {
  const last = items.at(-1);
  return {
    object: "list",
    data: items.map(view),
    has_more: hasMore,
    next_cursor: hasMore && last !== undefined ? encodeCursor(cursorOf(last)) : null,
  };
}
