/**
 * Stripe's request bodies are `application/x-www-form-urlencoded` with
 * bracketed keys (`metadata[tenant_id]=t1`, `line_items[0][price]=price_1`).
 * This turns them back into the nested object the SDK encoded.
 */
export type FormValue = string | FormObject | FormValue[];
export interface FormObject {
  [key: string]: FormValue;
}

export function parseStripeForm(body: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const [head, ...rest] = rawKey.split("[");
    const path = [head ?? "", ...rest.map((part) => part.replace(/]$/, ""))];
    let node: FormObject | FormValue[] = root;
    for (let i = 0; i < path.length; i++) {
      const key = path[i] ?? "";
      const last = i === path.length - 1;
      const container = node as Record<string, FormValue>;
      if (last) {
        if (key === "" && Array.isArray(node)) node.push(value);
        else container[key] = value;
        break;
      }
      const nextIsIndex = /^\d*$/.test(path[i + 1] ?? "");
      container[key] ??= nextIsIndex ? [] : {};
      node = container[key] as FormObject | FormValue[];
    }
  }
  return compactArrays(root) as FormObject;
}

/** `line_items[0]`, `line_items[1]` arrive as sparse keys; make them plain arrays. */
function compactArrays(value: FormValue): FormValue {
  if (Array.isArray(value)) return value.filter((item) => item !== undefined).map(compactArrays);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, compactArrays(item)]));
  }
  return value;
}

export function text(value: FormValue | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function record(value: FormValue | undefined): Record<string, string> {
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}
