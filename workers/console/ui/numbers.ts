/**
 * A count with thousands separators ("12,345"), as `toLocaleString("en-US")`
 * writes it. In workerd `toLocaleString` builds an ICU number formatter on
 * every call: 9 µs each, against 0.1 µs for `String` (measured in
 * Miniflare), and the usage page writes a dozen figures per view.
 */
export function formatCount(value: number): string {
  if (!Number.isSafeInteger(value)) return value.toLocaleString("en-US");
  const digits = String(Math.abs(value));
  let grouped = digits.slice(0, digits.length % 3 || 3);
  for (let index = grouped.length; index < digits.length; index += 3) grouped += `,${digits.slice(index, index + 3)}`;
  return value < 0 ? `-${grouped}` : grouped;
}
