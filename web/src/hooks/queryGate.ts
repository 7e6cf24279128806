// The event store answers one statement at a time, so a slow background read (the event names
// for the pickers: about a second on 10M events) sent beside a screen's first query makes that
// query wait behind it. Queries (and screens about to send one) register here; background reads
// wait until none is in flight.

const inFlight = new Set<object>();
let waiters: (() => void)[] = [];

// Looked at in a microtask, not at once: a hold released and the query it was waiting for are
// one effect pass (cleanup, then the next effect), and the gate must not open between them.
function checkSoon(): void {
  queueMicrotask(() => {
    if (inFlight.size > 0) return;
    const ready = waiters;
    waiters = [];
    ready.forEach((resolve) => resolve());
  });
}

/** Count a query as in flight until `release()`. */
export function holdQueries(): () => void {
  const token = {};
  inFlight.add(token);
  return () => {
    if (inFlight.delete(token)) checkSoon();
  };
}

/** Count `promise` (a query) as in flight until it settles. */
export function trackQuery(promise: Promise<unknown>): void {
  const release = holdQueries();
  promise.then(release, release);
}

/** Resolves once no query is in flight. It looks after the current task, so a query that the
 * same render starts (a parent's effect runs after its children's) is seen first. */
export function afterQueries(): Promise<void> {
  return new Promise((resolve) => {
    window.setTimeout(() => {
      waiters.push(resolve);
      checkSoon();
    }, 0);
  });
}
