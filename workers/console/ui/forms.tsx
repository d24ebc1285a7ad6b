/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";

/**
 * Form parts with their accessible names built in: every input has a
 * `<label>`, hints and the form's error are tied to inputs with
 * `aria-describedby`, and the error is announced (`role="alert"`).
 */
const ERROR_ID = "form-error";

export function FormError(props: { message?: string | null }) {
  if (!props.message) return null;
  return (
    <p class="alert" role="alert" id={ERROR_ID}>
      {props.message}
    </p>
  );
}

export function Notice(props: { message?: string | null }) {
  if (!props.message) return null;
  return (
    <p class="notice" role="status">
      {props.message}
    </p>
  );
}

export function Field(props: {
  name: string;
  /** Needed when two forms of one page have a field of the same name: ids must be unique for labels to work. */
  id?: string;
  label: string;
  type?: "email" | "password" | "text" | "date";
  value?: string;
  autocomplete?: string;
  hint?: string;
  required?: boolean;
  autofocus?: boolean;
  invalid?: boolean;
  maxlength?: number;
  minlength?: number;
}) {
  const id = props.id ?? `field-${props.name}`;
  const hintId = props.hint ? `${id}-hint` : null;
  const describedBy = [hintId, props.invalid ? ERROR_ID : null].filter(Boolean).join(" ") || undefined;
  return (
    <>
      <label for={id}>{props.label}</label>
      {props.hint ? (
        <span class="hint" id={hintId ?? undefined}>
          {props.hint}
        </span>
      ) : null}
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        autocomplete={props.autocomplete}
        required={props.required ?? true}
        autofocus={props.autofocus}
        maxlength={props.maxlength}
        minlength={props.minlength}
        aria-invalid={props.invalid ? "true" : undefined}
        aria-describedby={describedBy}
      />
    </>
  );
}

/** A POST form carrying the CSRF token. */
export function PostForm(props: { action: string; csrf: string; children: Child; label?: string }) {
  return (
    <form method="post" action={props.action} aria-label={props.label}>
      <input type="hidden" name="csrf" value={props.csrf} />
      {props.children}
    </form>
  );
}

/** Text shown once for copying: a `<pre>` with a copy button the script reveals. */
export function Copyable(props: { id: string; label: string; text: string }) {
  return (
    <div class="copyable">
      <pre id={props.id} title={props.label} tabindex={0}>
        {props.text}
      </pre>
      <button type="button" class="secondary" data-copy={props.id} aria-label={`Copy: ${props.label}`} hidden>
        Copy
      </button>
    </div>
  );
}
