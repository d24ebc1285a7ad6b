/** The earliest of the deadlines some module needs waking for, or null when none does. */
export function nextAlarm(...deadlines: (number | null)[]): number | null {
  const pending = deadlines.filter((deadline): deadline is number => deadline !== null);
  return pending.length === 0 ? null : Math.min(...pending);
}
