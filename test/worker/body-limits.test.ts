import { describe, expect, it } from "vitest";
import { MAX_IMPORT_BYTES } from "../../workers/api/portability/transfer";
import { DEFAULT_MAX_BODY_BYTES } from "../../workers/middleware/body-limit";
import { MAX_WEBHOOK_BYTES } from "../../workers/webhooks/stripe";
import { ownerTenant, signatureFor } from "./billing-support";
import { ADMIN, asTenant, newTenant, workerFetch } from "./support";

const CHUNK = 64 * 1024;

/**
 * A body of `total` bytes produced on demand, without a Content-Length (so it
 * travels chunked), that counts how much of it the Worker pulled.
 */
function endlessBody(total: number, byte = 0x61) {
  let pulled = 0;
  const chunk = new Uint8Array(CHUNK).fill(byte);
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= total) return controller.close();
        pulled += CHUNK;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

function ip(): string {
  return `198.18.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
}

async function expectTooLarge(response: Response, limit: number) {
  expect(response.status).toBe(413);
  expect(await response.json()).toEqual({
    error: {
      type: "payload_too_large",
      code: "payload_too_large",
      message: `Payload Too Large: the body must not exceed ${limit} bytes`,
    },
  });
}

/** Every unauthenticated route that takes a body, with the content type it expects. */
const anonymous: { name: string; path: string; type: string; limit: number; headers?: () => Promise<HeadersInit> }[] = [
  {
    name: "Stripe webhook",
    path: "/webhooks/stripe",
    type: "application/json",
    limit: MAX_WEBHOOK_BYTES,
    headers: async () => ({ "stripe-signature": await signatureFor("{}") }),
  },
  { name: "signup", path: "/api/signup", type: "application/json", limit: DEFAULT_MAX_BODY_BYTES },
  {
    name: "sign-in form",
    path: "/authorize",
    type: "application/x-www-form-urlencoded",
    limit: DEFAULT_MAX_BODY_BYTES,
  },
  {
    name: "OAuth token",
    path: "/oauth/token",
    type: "application/x-www-form-urlencoded",
    limit: DEFAULT_MAX_BODY_BYTES,
  },
  { name: "OAuth registration", path: "/oauth/register", type: "application/json", limit: DEFAULT_MAX_BODY_BYTES },
];

describe("request bodies are limited while they stream, before anything parses them", () => {
  for (const route of anonymous) {
    it(`${route.name}: a chunked body far past ${route.limit} bytes is refused with 413 after reading about the limit`, async () => {
      const body = endlessBody(16 * 1024 * 1024);
      const response = await workerFetch(route.path, {
        method: "POST",
        headers: { "content-type": route.type, "cf-connecting-ip": ip(), ...(await route.headers?.()) },
        body: body.stream,
      });
      await expectTooLarge(response, route.limit);
      // The rest of the upload was never read: at most the limit and a few chunks in flight.
      expect(body.pulled()).toBeLessThanOrEqual(route.limit + 4 * CHUNK);
    });

    it(`${route.name}: a Content-Length past the limit is refused with 413 without reading the body`, async () => {
      const response = await workerFetch(route.path, {
        method: "POST",
        headers: { "content-type": route.type, "cf-connecting-ip": ip(), ...(await route.headers?.()) },
        body: "x".repeat(route.limit + 1),
      });
      await expectTooLarge(response, route.limit);
    });
  }

  it("a body just under the limit still reaches the route (the signup's own validation answers)", async () => {
    const padding = "x".repeat(DEFAULT_MAX_BODY_BYTES - 100);
    const response = await workerFetch("/api/signup", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": ip() },
      body: JSON.stringify({ email: "a@example.test", password: "p", org_name: padding }).slice(
        0,
        DEFAULT_MAX_BODY_BYTES,
      ),
    });
    expect(response.status).toBe(400);
  });

  it("/api JSON routes: an owner's oversized chunked body to POST /api/keys is 413 and creates nothing", async () => {
    const { ownerKey } = await ownerTenant();
    const body = endlessBody(8 * 1024 * 1024, 0x20);
    const response = await workerFetch("/api/keys", {
      method: "POST",
      headers: asTenant(ownerKey, { "content-type": "application/json" }),
      body: body.stream,
    });
    await expectTooLarge(response, DEFAULT_MAX_BODY_BYTES);
    expect(body.pulled()).toBeLessThanOrEqual(DEFAULT_MAX_BODY_BYTES + 4 * CHUNK);
    const keys = (await (await workerFetch("/api/keys", { headers: asTenant(ownerKey) })).json()) as {
      data: unknown[];
    };
    // The first key and the owner's: nothing was created.
    expect(keys.data).toHaveLength(2);
  });

  it("the admin API is limited the same way", async () => {
    const body = endlessBody(8 * 1024 * 1024, 0x20);
    const response = await workerFetch("/api/tenants", { method: "POST", headers: ADMIN, body: body.stream });
    await expectTooLarge(response, DEFAULT_MAX_BODY_BYTES);
    expect(body.pulled()).toBeLessThanOrEqual(DEFAULT_MAX_BODY_BYTES + 4 * CHUNK);
  });

  it("an import is read only after authentication, and only up to its own limit", async () => {
    const anonymousUpload = endlessBody(64 * 1024 * 1024);
    const refused = await workerFetch("/api/import", {
      method: "POST",
      headers: { "content-type": "application/x-ndjson", authorization: "Bearer mk_not_a_key" },
      body: anonymousUpload.stream,
    });
    expect(refused.status).toBe(401);
    expect(anonymousUpload.pulled()).toBeLessThanOrEqual(4 * CHUNK);

    const { apiKey } = await newTenant();
    const upload = endlessBody(MAX_IMPORT_BYTES + 8 * 1024 * 1024, 0x0a);
    const response = await workerFetch("/api/import", {
      method: "POST",
      headers: asTenant(apiKey.key, { "content-type": "application/x-ndjson" }),
      body: upload.stream,
    });
    await expectTooLarge(response, MAX_IMPORT_BYTES);
    expect(upload.pulled()).toBeLessThanOrEqual(MAX_IMPORT_BYTES + 4 * CHUNK);
  });
});
