/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import { Layout } from "../../console/ui/layout";

export type AdminSection = "tenants" | "webhooks" | "moves" | "health";

const ITEMS: { section: AdminSection; href: string; label: string }[] = [
  { section: "tenants", href: "/admin/tenants", label: "Tenants" },
  { section: "webhooks", href: "/admin/webhooks", label: "Webhooks" },
  { section: "moves", href: "/admin/moves", label: "Moves" },
  { section: "health", href: "/admin/health", label: "Health" },
];

/** The tenant console's frame with the operator's navigation, and who is signed in. */
export function AdminFrame(props: {
  title: string;
  section: AdminSection;
  csrf: string;
  operator: string;
  children: Child;
}) {
  return (
    <Layout
      title={`${props.title} · Admin`}
      wide
      menu={{
        label: "Admin",
        home: "/admin/tenants",
        items: ITEMS.map((item) => ({ ...item, current: item.section === props.section })),
        signOut: { action: "/admin/signout", csrf: props.csrf },
      }}
    >
      <p class="muted">
        Operator console · signed in as <strong>{props.operator}</strong>
      </p>
      {props.children}
    </Layout>
  );
}

/** What a failed action shows: the safe message of workers/error-answer.ts, and a way back. */
export function ErrorPage(props: { message: string }) {
  return (
    <Layout title="That did not work · Admin" narrow>
      <h1>That did not work</h1>
      <p class="alert" role="alert">
        {props.message}
      </p>
      <p>
        <a href="/admin">Back to the admin console</a>
      </p>
    </Layout>
  );
}

/** A coloured word for a state: green when healthy, red when failing, amber in between. */
export function Badge(props: { tone: "ok" | "bad" | "warn" | "plain"; children: Child }) {
  return <span class={props.tone === "plain" ? "badge" : `badge ${props.tone}`}>{props.children}</span>;
}

/** A definition list of label → value pairs. */
export function Facts(props: { items: [string, Child][] }) {
  return (
    <dl class="facts">
      {props.items.map(([label, value]) => (
        <>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </>
      ))}
    </dl>
  );
}

/** A `<select>` with its label, the current value selected. */
export function Select(props: {
  name: string;
  label: string;
  options: readonly (string | [value: string, label: string])[];
  value?: string | null;
}) {
  const id = `field-${props.name}`;
  return (
    <div>
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name}>
        {props.options.map((option) => {
          const [value, label] = typeof option === "string" ? [option, option] : option;
          return (
            <option value={value} selected={value === (props.value ?? "")}>
              {label}
            </option>
          );
        })}
      </select>
    </div>
  );
}

export function time(iso: string | null | undefined): string {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "—";
}
