/**
 * When the object's one alarm should run: the earliest of the deadlines some
 * module needs waking for, or null when none does.
 *
 * Never a time before `now`: an overdue deadline is due now. workerd runs an
 * alarm time once. An `alarm()` that sets its own time again, already run, is
 * not run again (or is, a few times in a row, then not), and a later call
 * that finds that past time still set changes nothing, so the object would
 * never wake again (docs/rate-limits.md, "Getting counts to the management
 * DB"). `now` is always a new time to the runtime.
 */
export function nextAlarm(now: number, ...deadlines: (number | null)[]): number | null {
  const pending = deadlines.filter((deadline): deadline is number => deadline !== null);
  return pending.length === 0 ? null : Math.max(now, Math.min(...pending));
}
