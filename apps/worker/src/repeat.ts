export interface Repeating {
  /** Schedules nothing more; a run under way ends with the connection it uses. */
  stop(): void;
}

/** Runs `run` now, then `intervalMs` after each run ends: never two at once, never holding the process open. */
export function repeatEvery(intervalMs: number, run: () => Promise<void>): Repeating {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => void run().then(next), intervalMs);
    timer.unref();
  };
  void run().then(next);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
