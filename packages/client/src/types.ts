// The answers of the pagefleet API: the contract's own types (@pagefleet/contract), under the
// names a client reads them by. Types only, and the plain statuses: no schema library is bundled.
import type { DocumentState, DocumentStatus, PageResult, Result, WorkerHeartbeat } from '@pagefleet/contract';

export type {
  Accepted,
  Engine,
  EngineChoice,
  Output,
  PageResult,
  Priority,
  Problem,
  WordResult as Word,
} from '@pagefleet/contract';
export { FINISHED_STATUSES as FINISHED } from '@pagefleet/contract/statuses';

export type JobStatus = DocumentStatus;
export type Job = DocumentState;
export type ResultWindow = Result;
export type Worker = WorkerHeartbeat;

/** What the event stream of a job tells, in order: the job, each page that ends, the job finished. */
export type ProgressEvent =
  | { type: 'state'; job: Job }
  | {
      type: 'page';
      page: number;
      status: PageResult['status'];
      confidence: number;
      pagesDone: number;
      pagesFailed: number;
    }
  | { type: 'end'; job: Job };
