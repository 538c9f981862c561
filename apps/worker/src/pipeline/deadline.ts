import { PageFailureError } from '@pagefleet/shared';

/** A child's own timeout, kept only as a backstop: the page's deadline aborts it first. */
export const CHILD_TIMEOUT_MS = 3_600_000;

/** A page attempt that ran past PAGE_TIMEOUT_MS, in the stage it was in. */
export class PageTimeoutError extends PageFailureError {
  override name = 'PageTimeoutError';
  override readonly stage: string;
  constructor(stage: string, timeoutMs: number) {
    super('timeout', `page timed out after ${timeoutMs} ms in stage ${stage}`, stage);
    this.stage = stage;
  }
}

/** Settles like `work`, or rejects with the signal's reason as soon as it aborts. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The time budget of one page attempt. Stages run one after another; when the budget runs out
 * the signal aborts with a PageTimeoutError naming the stage then running, and each stage stops
 * its own work on that signal (kills its child process, terminates its tesseract thread).
 */
export class PageDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private current = 'start';
  readonly durations: Record<string, number> = {};

  /** `stop` ends the attempt early with its own reason (the worker handing the page back). */
  constructor(timeoutMs: number, stop?: AbortSignal) {
    this.timer = setTimeout(() => this.controller.abort(new PageTimeoutError(this.current, timeoutMs)), timeoutMs);
    stop?.addEventListener('abort', () => this.controller.abort(stop.reason), { once: true });
  }

  /** Runs one stage with the signal, and records how long it took in `durations`. */
  async stage<T>(name: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.current = name;
    const signal = this.controller.signal;
    signal.throwIfAborted();
    const start = performance.now();
    try {
      return await untilAborted(work(signal), signal);
    } finally {
      // A stage run twice (a text page's layer, then its files) adds up.
      this.durations[name] = (this.durations[name] ?? 0) + Math.round(performance.now() - start);
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
