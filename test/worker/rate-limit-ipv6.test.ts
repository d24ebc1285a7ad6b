import { describe, expect, it } from "vitest";
import { addressBlock } from "../../workers/middleware/address-block";
import { workerFetch } from "./support";

/** A /64 of the documentation prefix nobody else in the run uses. */
function fresh64(): string {
  const hex = () => Math.floor(Math.random() * 0xffff).toString(16);
  return `2001:db8:${hex()}:${hex()}`;
}

/** A well-formed API key nobody issued. */
function unknownKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(30));
  return `mk_${Array.from(bytes, (byte) => (byte % 36).toString(36)).join("")}`;
}

/** One request to each per-IP-limited endpoint, as an anonymous caller from `ip` (bodies that fail cheaply). */
const endpoints: Record<string, (ip: string) => Promise<Response>> = {
  signup: (ip) =>
    workerFetch("/api/signup", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": ip },
      body: "{}",
    }),
  "oauth token": (ip) =>
    workerFetch("/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": ip },
      body: "grant_type=authorization_code",
    }),
  "oauth registration": (ip) =>
    workerFetch("/oauth/register", {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": ip },
      body: "{}",
    }),
  "bad API key": (ip) =>
    workerFetch("/api/me", { headers: { authorization: `Bearer ${unknownKey()}`, "cf-connecting-ip": ip } }),
};

describe("per-IP limits group IPv6 by /64", () => {
  for (const [name, send] of Object.entries(endpoints)) {
    it(`${name}: 30 requests from one address of a /64 spend the budget of every address in it`, async () => {
      const prefix = fresh64();
      for (let i = 0; i < 30; i++) expect((await send(`${prefix}::1`)).status).not.toBe(429);
      // Other addresses of the same /64 (one spelled out in full, with leading zeros) share that budget.
      for (const sibling of [`${prefix}::5`, `${prefix}:abcd:1234:5678:9abc`, `${prefix}:0:0:0:00ff`]) {
        const refused = await send(sibling);
        expect(refused.status).toBe(429);
        expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(await refused.json()).toMatchObject({ error: { type: "rate_limited", code: "rate_limit_exceeded" } });
      }
      // The neighbouring /64 is someone else.
      expect((await send(`${fresh64()}::1`)).status).not.toBe(429);
    });
  }

  it("keeps IPv4 per address", async () => {
    const octet = () => Math.floor(Math.random() * 250) + 1;
    const net = `10.${octet()}.${octet()}`;
    for (let i = 0; i < 30; i++) expect((await endpoints.signup?.(`${net}.1`))?.status).toBe(400);
    expect((await endpoints.signup?.(`${net}.1`))?.status).toBe(429);
    expect((await endpoints.signup?.(`${net}.2`))?.status).toBe(400);
  });
});

describe("addressBlock", () => {
  it("maps an IPv6 address to its /64 in one spelling, whatever way it was written", () => {
    for (const written of [
      "2001:db8:1:2::1",
      "2001:0DB8:0001:0002:ffff:0:0:1",
      "[2001:db8:1:2::9]",
      "2001:db8:1:2::1%eth0",
    ]) {
      expect(addressBlock(written)).toBe("2001:db8:1:2::/64");
    }
    expect(addressBlock("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressBlock("::1")).toBe("0:0:0:0::/64");
    expect(addressBlock("2001:db8:1:2:3:4:192.0.2.1")).toBe("2001:db8:1:2::/64");
  });

  it("keeps IPv4 (also IPv4-mapped IPv6) per address, and leaves what is not an address alone", () => {
    expect(addressBlock("192.0.2.1")).toBe("192.0.2.1");
    expect(addressBlock("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(addressBlock("::ffff:c000:201")).toBe("192.0.2.1");
    for (const odd of ["unknown", "1:2:3", "1::2::3", "2001:db8:1:2:3:4:5:6:7", "gggg::1", "::ffff:300.1.1.1"]) {
      expect(addressBlock(odd)).toBe(odd);
    }
  });
});
