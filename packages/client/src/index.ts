export { PagefleetClient, ProblemError, UnreachableError, type ClientOptions, type SubmitOptions } from './client.js';
export { readSse, type SseMessage } from './sse.js';
export * from './types.js';
