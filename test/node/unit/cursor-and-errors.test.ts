import { describe, expect, it } from "vitest";
import { z } from "zod";
import { decodeCursor, encodeCursor } from "../../../shared/cursor";
import { AppError, DEFAULT_RETRY_AFTER_SECONDS, unavailable } from "../../../shared/errors";

describe("page cursors", () => {
  const schema = z.object({ createdAt: z.string(), id: z.string() });

  it("round-trips a value through a URL-safe token", () => {
    const value = { createdAt: "2026-11-29T00:00:00.000Z", id: "t???>>>~~~" };
    const cursor = encodeCursor(value);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(schema, cursor, "this API")).toEqual(value);
  });

  it("still reads a cursor written as plain base64 with padding", () => {
    const legacy = btoa(JSON.stringify([1700000000000, 42]));
    expect(decodeCursor(z.tuple([z.number(), z.number()]), legacy, "list")).toEqual([1700000000000, 42]);
  });

  it("answers anything else with a 400 invalid_cursor naming the list it should come from", () => {
    for (const cursor of ["", "not a cursor", encodeCursor({ other: true }), encodeCursor([1, "x"])]) {
      let caught: unknown;
      try {
        decodeCursor(z.tuple([z.number(), z.number()]), cursor, "list");
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).status).toBe(400);
      expect((caught as AppError).toBody().error).toEqual({
        type: "invalid_request",
        code: "invalid_cursor",
        message: "cursor: not a cursor returned by list",
      });
    }
  });
});

describe("503 responses", () => {
  it("say when to retry: the known time rounded up, else the default, never under a second", () => {
    expect(unavailable("x").options.headers).toEqual({ "Retry-After": String(DEFAULT_RETRY_AFTER_SECONDS) });
    expect(unavailable("x", { retryAfterSeconds: 12.1 }).options.headers).toEqual({ "Retry-After": "13" });
    expect(unavailable("x", { retryAfterSeconds: 0 }).options.headers).toEqual({ "Retry-After": "1" });
    expect(unavailable("database unavailable").toBody().error).toEqual({
      type: "unavailable",
      code: "unavailable",
      message: "database unavailable",
    });
    expect(unavailable("x").status).toBe(503);
  });
});
