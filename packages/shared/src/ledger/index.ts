export * from './bell.js';
export * from './failures.js';
export * from './layout.js';
export * from './ledger.js';
export type { PageRecord } from './records.js';
export type {
  ClaimedPage,
  CommitOutcome,
  DocumentEvent,
  NewDocument,
  OpenLane,
  PageClaim,
  Replay,
  Writer,
} from './state.js';
