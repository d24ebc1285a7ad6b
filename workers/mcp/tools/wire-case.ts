/**
 * Tool arguments and results are snake_case on the wire (`idempotency_key`,
 * `superseded_by`), as MCP tools conventionally are; the memory store speaks
 * camelCase TypeScript. Results cross over here, in one place.
 */
export function toWire<T>(value: T): unknown {
  if (Array.isArray(value)) return value.map(toWire);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner === undefined) continue;
    out[key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)] = toWire(inner);
  }
  return out;
}
