/**
 * Counts the event loop's turns (a setImmediate chain: stands for another client's work) until
 * stopped: a test notes it where work happens, and distinct values show the work was split over
 * turns with the loop free between (no timing involved).
 */
export function turnCounter(): { readonly turns: number; stop(): void } {
  let turns = 0;
  let on = true;
  const tick = (): void => {
    turns++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get turns() {
      return turns;
    },
    stop: () => void (on = false),
  };
}
