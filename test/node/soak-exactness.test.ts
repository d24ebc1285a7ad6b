import { describe, expect, it } from "vitest";
import { countAdmission, mostInAnyWindow, newAdmissionTally } from "../../bench/soak-exactness";

/** An answer as the Worker gives it: admitted ones (and rate-limit refusals) carry admission's headers. */
function answer(status: number, body: unknown, admissionHeaders: boolean): [Response, string] {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const headers = new Headers({ "content-type": "application/json" });
  if (admissionHeaders) {
    headers.set("x-ratelimit-limit", "60");
    headers.set("ratelimit-policy", '"tenant";q=60;w=60');
  }
  return [new Response(text, { status, headers }), text];
}

const toolResult = (text: string, isError: boolean) => ({
  jsonrpc: "2.0",
  id: 1,
  result: { content: [{ type: "text", text }], isError },
});

describe("the soak's reading of what was admitted", () => {
  it("counts an answer admitted when admission's headers are on it and it is not a 429, whatever failed after", () => {
    const tally = newAdmissionTally();
    const sent = { instance: 1, sentAt: Date.now(), toolCall: false };
    countAdmission(tally, ...answer(200, { ok: true }, true), sent);
    // Failed after admission (the object counted it): still admitted.
    countAdmission(tally, ...answer(503, { error: { message: "database unavailable" } }, true), sent);
    // Failed before admission (authentication, or the object unreachable): not admitted.
    countAdmission(tally, ...answer(503, { error: { message: "database unavailable" } }, false), sent);
    countAdmission(tally, ...answer(429, { error: { message: "Rate limit exceeded: 60 requests per 60 s" } }, true), {
      ...sent,
      instance: 0,
    });
    countAdmission(tally, ...answer(429, { error: { message: "Plan quota exceeded: 10000 of 10000" } }, false), sent);
    expect(tally).toMatchObject({ admitted: 2, rateLimited: 1, quotaExceeded: 1, unexplained: 0 });
    expect(tally.byInstance).toEqual([undefined, 2]);
    expect(tally.policy).toEqual({ limit: 60, windowMs: 60_000 });
    expect(tally.spans).toHaveLength(4);
  });

  it("flags a 200 without admission's headers: the reading would be wrong", () => {
    const tally = newAdmissionTally();
    countAdmission(tally, ...answer(200, {}, false), { instance: 0, sentAt: 0, toolCall: false });
    expect(tally).toMatchObject({ admitted: 0, unexplained: 1 });
  });

  it("counts a tool call charged unless the charge itself refused it", () => {
    const tally = newAdmissionTally();
    const call = { instance: 0, sentAt: Date.now(), toolCall: true };
    countAdmission(tally, ...answer(200, toolResult("{}", false), true), call);
    // The tool ran after its charge and failed: charged.
    countAdmission(
      tally,
      ...answer(200, toolResult("database unavailable: the memory store did not answer", true), true),
      call,
    );
    // The charge refused it: the tool did not run.
    countAdmission(
      tally,
      ...answer(200, toolResult("Plan quota exceeded: 10000 of 10000 tool calls", true), true),
      call,
    );
    countAdmission(
      tally,
      ...answer(200, toolResult("admission temporarily unavailable: the tool did not run", true), true),
      call,
    );
    // The SDK refused the call before dispatch.
    countAdmission(
      tally,
      ...answer(200, { jsonrpc: "2.0", id: 1, error: { code: -32602, message: "bad" } }, true),
      call,
    );
    // Not a tool call at all.
    countAdmission(tally, ...answer(200, { jsonrpc: "2.0", id: 2, result: { tools: [] } }, true), {
      ...call,
      toolCall: false,
    });
    expect(tally).toMatchObject({ admitted: 6, toolCalls: 2, quotaExceeded: 1 });
  });
});

describe("the most admitted in any window, from the client side", () => {
  it("counts only requests sent and answered inside the window", () => {
    // 60 answered inside [0, 60 s), one sent inside but answered after: certainly admitted in it are 60.
    const spans = Array.from({ length: 60 }, (_, i) => [i * 900, i * 900 + 50]).flat();
    spans.push(59_990, 60_010);
    expect(mostInAnyWindow(spans, 60_000)).toBe(60);
    // One more answered inside makes 61: over a limit of 60.
    spans.push(59_000, 59_100);
    expect(mostInAnyWindow(spans, 60_000)).toBe(61);
  });

  it("slides: requests a window apart are not counted together", () => {
    const spans = [0, 10, 30_000, 30_010, 60_000, 60_010, 90_000, 90_010];
    expect(mostInAnyWindow(spans, 60_000)).toBe(2);
    expect(mostInAnyWindow([], 60_000)).toBe(0);
  });
});
