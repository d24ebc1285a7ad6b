/** @jsxImportSource hono/jsx */

/** The wordmark's glyph: a raven's head in one path (Muninn is one of Odin's ravens). Decorative beside the name. */
export function LogoMark() {
  return (
    <svg viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <circle cx="16" cy="16" r="15" fill="currentColor" opacity=".12" />
      <path
        d="M7 19c2-6 6-10 12-10 3 0 5 1 6 3l3 1-3 2c0 5-4 9-10 9-3 0-6-1-8-3l5-1c-2-.5-4-1-5-1z"
        fill="currentColor"
      />
      <circle cx="20" cy="13" r="1.3" fill="var(--surface)" />
    </svg>
  );
}
