import { afterEach, describe, expect, it, vi } from "vitest";
import { fenceLibraryFetches, MAX_BYTES, MAX_CONCURRENT, network } from "../../workers/auth/oauth-outbound";
import { authorizeUrl, Browser, pkce, registerClient } from "./oauth-support";

/**
 * `GET /authorize` with a `client_id` that is an https URL makes this server
 * fetch that URL (Client ID Metadata Documents). These tests stand the
 * internet in for `network.fetch`, beneath the fence, and honour the
 * request's redirect mode the way the runtime's fetch does.
 */

const REDIRECT_URI = "http://127.0.0.1:7799/callback";

function metadataFor(clientId: string) {
  return {
    client_id: clientId,
    client_name: "Metadata Client",
    redirect_uris: [REDIRECT_URI],
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
  };
}

async function authorizeAs(browser: Browser, clientId: string): Promise<Response> {
  const { challenge } = await pkce();
  return browser.fetch(authorizeUrl({ client_id: clientId, redirect_uri: REDIRECT_URI, code_challenge: challenge }));
}

const fetchedUrls = (mock: { mock: { calls: unknown[][] } }) =>
  mock.mock.calls.map(([input]) => (input as Request).url);

afterEach(() => {
  vi.restoreAllMocks();
});

describe("GET /authorize", () => {
  it("is limited per client address: 45 metadata URLs from one address are not 45 fetches", async () => {
    const origin = vi.spyOn(network, "fetch").mockImplementation(async () => new Response("no", { status: 404 }));
    const browser = new Browser();
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) {
      const response = await authorizeAs(browser, `https://probe.example.com/probe${i}`);
      statuses.push(response.status);
      if (response.status === 429) {
        expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(await response.text()).toContain("Too many requests");
      }
    }
    expect(statuses.filter((status) => status === 400)).toHaveLength(30);
    expect(statuses.slice(30).every((status) => status === 429)).toBe(true);
    expect(origin).toHaveBeenCalledTimes(30);
  });

  it("a registered client's page is refused with 429 too once the address has spent its minute", async () => {
    const { client_id } = await registerClient({ redirect_uris: [REDIRECT_URI] });
    const browser = new Browser();
    for (let i = 0; i < 30; i++) expect((await authorizeAs(browser, client_id)).status).toBe(200);
    expect((await authorizeAs(browser, client_id)).status).toBe(429);
    // Another address is unaffected.
    expect((await authorizeAs(new Browser(), client_id)).status).toBe(200);
  });
});

describe("client metadata fetches", () => {
  it("never fetch loopback, private, link-local, private-suffix or IP-literal hosts, nor non-default ports", async () => {
    const origin = vi
      .spyOn(network, "fetch")
      .mockImplementation(async (input) => Response.json(metadataFor((input as Request).url)));
    const refused = [
      "https://127.0.0.1/client.json",
      "https://2130706433/client.json",
      "https://10.0.0.8/client.json",
      "https://192.168.1.1/client.json",
      "https://169.254.169.254/latest/meta-data",
      "https://[::1]/client.json",
      "https://[fd00::1]/client.json",
      "https://[fe80::1]/client.json",
      "https://[::ffff:127.0.0.1]/client.json",
      "https://localhost/client.json",
      "https://api.localhost/client.json",
      "https://printer.local/client.json",
      "https://metadata.google.internal/client.json",
      "https://intranet/client.json",
      "https://client.example.com:8443/client.json",
    ];
    for (const clientId of refused) {
      const response = await authorizeAs(new Browser(), clientId);
      expect(response.status, clientId).toBe(400);
      expect(await response.text()).toContain("could not be verified");
    }
    expect(fetchedUrls(origin)).toEqual([]);
  });

  it("do not follow redirects: a document that moved is refused", async () => {
    const clientId = "https://moved.example.com/client.json";
    const origin = vi.spyOn(network, "fetch").mockImplementation(async (input) => {
      const request = input as Request;
      // What following would reach: an inward address serving a document that passes validation.
      if (request.redirect === "follow") return Response.json(metadataFor(clientId));
      return new Response(null, { status: 302, headers: { location: "https://169.254.169.254/client.json" } });
    });
    const response = await authorizeAs(new Browser(), clientId);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("could not be verified");
    expect(fetchedUrls(origin)).toEqual([clientId]);
  });

  it("hold a metadata document to the registration rules: a bidi-spoofed name or 11 redirect URIs are refused", async () => {
    const spoofed = "https://spoof.example.com/client.json";
    const crowded = "https://crowded.example.com/client.json";
    vi.spyOn(network, "fetch").mockImplementation(async (input) => {
      const url = (input as Request).url;
      const document = metadataFor(url);
      if (url === spoofed) document.client_name = "Evil \u202eppA";
      else document.redirect_uris = Array.from({ length: 11 }, (_, i) => `http://127.0.0.1/cb${i}`);
      return Response.json(document, { headers: { "cache-control": "no-store" } });
    });
    for (const clientId of [spoofed, crowded]) {
      const response = await authorizeAs(new Browser(), clientId);
      expect(response.status, clientId).toBe(400);
      expect(await response.text()).toContain("could not be verified");
    }
  });

  it("read the document as a stream and stop at the size limit", async () => {
    let pulled = 0;
    vi.spyOn(network, "fetch").mockImplementation(async () => {
      // An endless answer with no Content-Length.
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled += 1024;
          controller.enqueue(new Uint8Array(1024).fill(32));
        },
      });
      return new Response(body, { headers: { "content-type": "application/json" } });
    });
    const response = await authorizeAs(new Browser(), "https://endless.example.com/client.json");
    expect(response.status).toBe(400);
    expect(pulled).toBeLessThanOrEqual(MAX_BYTES + 4 * 1024);
  });

  it(`run at most ${MAX_CONCURRENT} at once in a Worker instance; the next is answered 503 at once`, async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    const origin = vi.spyOn(network, "fetch").mockImplementation(async (input) => {
      started += 1;
      await gate;
      return Response.json(metadataFor((input as Request).url), { headers: { "cache-control": "no-store" } });
    });
    const slow = Array.from({ length: MAX_CONCURRENT }, (_, i) =>
      authorizeAs(new Browser(), `https://slow.example.com/client${i}.json`),
    );
    await vi.waitFor(() => expect(started).toBe(MAX_CONCURRENT));

    const over = await authorizeAs(new Browser(), "https://slow.example.com/one-too-many.json");
    expect(over.status).toBe(503);
    expect(over.headers.get("retry-after")).toBe("5");
    expect(await over.text()).toContain("Too many apps are being verified");

    release();
    const answers = await Promise.all(slow);
    expect(answers.map((answer) => answer.status)).toEqual(Array(MAX_CONCURRENT).fill(200));
    // Each page asks twice (the library validates the request, then the page looks the client's name up);
    // an uncacheable document is fetched both times.
    expect(origin).toHaveBeenCalledTimes(2 * MAX_CONCURRENT);
    // The slots are free again.
    const after = await authorizeAs(new Browser(), "https://slow.example.com/after.json");
    expect(after.status).toBe(200);
  });
});

it("the metadata document's origin is asked for JSON with the library's User-Agent, under the fence", async () => {
  const clientId = "https://ua.example.com/client.json";
  const origin = vi
    .spyOn(network, "fetch")
    .mockImplementation(async () => Response.json(metadataFor(clientId), { headers: { "cache-control": "no-store" } }));
  expect((await authorizeAs(new Browser(), clientId)).status).toBe(200);
  const request = origin.mock.calls[0]?.[0] as Request;
  expect(request.headers.get("user-agent")).toMatch(/^workers-oauth-provider\//);
  expect(request.redirect).toBe("manual");
});

it("a fetch marked with the library's User-Agent is fenced however its headers are given", async () => {
  fenceLibraryFetches();
  const origin = vi.spyOn(network, "fetch");
  const agent = "workers-oauth-provider/1.2.0";
  // Every form `fetch` accepts, with the name in any case and the value with surrounding space.
  const forms: [string, () => Promise<Response>][] = [
    ["plain object", () => fetch("https://10.0.0.7/a.json", { headers: { "User-Agent": agent } })],
    ["spaced value", () => fetch("https://10.0.0.7/a.json", { headers: { accept: "*/*", "user-agent": ` ${agent}` } })],
    ["pairs", () => fetch("https://10.0.0.7/a.json", { headers: [["USER-AGENT", agent]] })],
    ["Headers", () => fetch("https://10.0.0.7/a.json", { headers: new Headers({ "user-agent": agent }) })],
    ["Request", () => fetch(new Request("https://10.0.0.7/a.json", { headers: { "user-agent": agent } }))],
  ];
  for (const [form, send] of forms) {
    await expect(send(), form).rejects.toThrow("IP address literals are not fetched");
  }
  expect(origin).not.toHaveBeenCalled();
});
