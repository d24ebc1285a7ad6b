/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import { PostForm } from "../../console/ui/forms";
import { AdminFrame, type AdminSection } from "./frame";

/**
 * The confirmation step of every operator change: what will change, from
 * what to what, and one button that posts the same fields again with
 * `confirm=yes`. Nothing changes until it is pressed.
 */
export function ConfirmPage(props: {
  csrf: string;
  operator: string;
  section: AdminSection;
  title: string;
  action: string;
  fields: Record<string, string>;
  rows: [what: string, before: string, after: string][];
  cancel: string;
  button: string;
  children?: Child;
}) {
  return (
    <AdminFrame title={props.title} section={props.section} csrf={props.csrf} operator={props.operator}>
      <h1>{props.title}</h1>
      {props.children}
      {props.rows.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">What</th>
              <th scope="col">Now</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map(([what, before, after]) => (
              <tr>
                <th scope="row">{what}</th>
                <td>{before}</td>
                <td>
                  <strong>{after}</strong>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <PostForm action={props.action} csrf={props.csrf} label={props.title}>
        {Object.entries(props.fields).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <input type="hidden" name="confirm" value="yes" />
        <div class="actions">
          <button type="submit" autofocus>
            {props.button}
          </button>
          <a class="button secondary" href={props.cancel}>
            Cancel
          </a>
        </div>
      </PostForm>
    </AdminFrame>
  );
}
