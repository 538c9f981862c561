import { UnrecoverableError, type Job } from 'bullmq';
import { failureOf, type PageFailure } from '@pagefleet/shared';

/** How an attempt that failed ends: for good, or to be run again; and the typed failure it stands for. */
export interface AttemptEnd {
  final: boolean;
  failure: PageFailure;
}

const decided = new WeakMap<Error, AttemptEnd>();

/**
 * The one decision on how a failed attempt ends. Final when it can never succeed (unrecoverable)
 * or was the job's last attempt: made while the attempt runs, before BullMQ counts it, so that a
 * page records its failure before BullMQ lets its document finish. The job's 'failed' event reads
 * the same decision back (`endOf`).
 */
export function decideEnd(job: Job, err: Error): AttemptEnd {
  const known = decided.get(err);
  if (known) return known;
  const end = {
    final: err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
    failure: failureOf(err),
  };
  decided.set(err, end);
  return end;
}

/**
 * How the attempt that failed with `err` ended, as `decideEnd` decided while it ran. BullMQ fails
 * a job on its own only for good (it stalled more often than allowed: its workers died).
 */
export const endOf = (err: Error): AttemptEnd => decided.get(err) ?? { final: true, failure: failureOf(err) };
