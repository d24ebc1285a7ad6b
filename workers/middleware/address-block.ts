/**
 * The block of addresses one per-IP budget covers. An IPv4 address is its
 * own block. An IPv6 address is grouped by its /64: a subscriber is
 * routinely handed a whole /64 (SLAAC, privacy addresses, RFC 6177 and
 * RIPE-690 recommend at least that per site), so keying on the full address
 * would give one client 2^64 budgets. A /64 is the smallest unit that is
 * reliably one site; grouping wider would throttle unrelated customers of
 * the same ISP together.
 *
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`) is the IPv4 address. Anything that
 * is not an IP address (never the case behind Cloudflare) is its own block,
 * unchanged.
 */
export function addressBlock(address: string): string {
  const hextets = parseIpv6(address);
  if (!hextets) return address;
  const mapped = hextets.slice(0, 5).every((part) => part === 0) && hextets[5] === 0xffff;
  if (mapped) {
    const high = hextets[6] ?? 0;
    const low = hextets[7] ?? 0;
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
  }
  return `${hextets
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(":")}::/64`;
}

const HEXTET = /^[0-9a-f]{1,4}$/i;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The eight 16-bit groups of an IPv6 address (`::` compression, a trailing dotted IPv4, a zone id), or null. */
function parseIpv6(address: string): number[] | null {
  const text =
    address
      .trim()
      .replace(/^\[|\]$/g, "")
      .split("%")[0] ?? "";
  if (!text.includes(":")) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function groups(part: string): number[] | null {
  if (part === "") return [];
  const out: number[] = [];
  const pieces = part.split(":");
  for (const [index, piece] of pieces.entries()) {
    const dotted = index === pieces.length - 1 ? piece.match(IPV4) : null;
    if (dotted) {
      const bytes = dotted.slice(1).map(Number);
      if (bytes.some((byte) => byte > 255)) return null;
      out.push(((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0), ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0));
    } else if (HEXTET.test(piece)) {
      out.push(Number.parseInt(piece, 16));
    } else {
      return null;
    }
  }
  return out;
}
