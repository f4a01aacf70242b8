/**
 * The longest delay Node's timers take: 2^31 - 1 ms (about 24.8 days). A longer one (or a
 * non-number) is not an error but fires after 1 ms, with a TimeoutOverflowWarning, so a
 * client-chosen delay (a TTL, a will delay, a pull timeout) passes through timerDelay.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a timer can wait it: negative and NaN as 0, beyond MAX_TIMER_MS as MAX_TIMER_MS */
export function timerDelay(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_TIMER_MS) : 0;
}
