// The API's contract, defined once: request and result schemas (zod), the values they are made
// of, error codes, and the types derived from them. No server dependencies: the API, the worker,
// the client, the CLI and the web page import these very definitions.
export * from './schemas.js';
export * from './statuses.js';
