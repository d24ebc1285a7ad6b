import { env } from "cloudflare:workers";
import { expect } from "vitest";

const controlUrl = (env as unknown as { TEST_CONTROL_URL: string }).TEST_CONTROL_URL;

/** Stop or start one of the test stack's libSQL servers (same port, same data on restart). */
export async function database(server: "mgmt" | "tenants", action: "stop" | "start"): Promise<void> {
  const response = await fetch(`${controlUrl}/${server}/${action}`, { method: "POST" });
  expect(response.status).toBe(204);
}

/** Poll `check` until it holds, for at most `timeoutMs`: recovery is driven by real breaker timers. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
