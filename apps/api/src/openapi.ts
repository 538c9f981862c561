import { z } from 'zod';
import {
  acceptedSchema,
  documentStateSchema,
  healthSchema,
  pageFormatQuery,
  pageResultSchema,
  problemSchema,
  readySchema,
  resultQuery,
  resultSchema,
  submissionFields,
  tenantsUsageSchema,
  tenantUsageSchema,
  workersSchema,
  type Config,
} from '@pagefleet/shared';

/** JSON Schema of one response body: a named schema by reference, or a stream of bytes or text. */
type Body = z.ZodType | 'binary' | 'text';

interface Operation {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI's form: `{id}` where Express has `:id`. */
  path: string;
  summary: string;
  description?: string;
  query?: z.ZodObject;
  headers?: Array<{ name: string; description: string }>;
  multipart?: z.ZodObject;
  responses: Record<number, { description: string; content?: Record<string, Body> }>;
  /** Under /v1: behind API_KEYS when keys are set. */
  authenticated: boolean;
}

const PROBLEM = 'application/problem+json';
const problem = (description: string) => ({ description, content: { [PROBLEM]: problemSchema } });
const json = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': schema } });

function operations(config: Config): Operation[] {
  const job = { 404: problem('No such job (or it expired after RESULT_TTL).') };
  const unfinished = { 409: problem('The job has not finished, or was canceled.') };
  return [
    {
      method: 'post',
      path: '/v1/jobs',
      summary: 'Submit documents',
      description:
        'Uploads one or more files (PDF, PNG, JPEG, TIFF, WebP) as one job; every page is queued and the answer comes before any is read.',
      multipart: submissionFields(config),
      headers: [
        {
          name: 'Idempotency-Key',
          description:
            'Repeating a request with the same key answers the same job instead of a new one; the same key with other files or options is 422 idempotency_mismatch.',
        },
      ],
      responses: {
        202: json('Accepted: every page is queued.', acceptedSchema),
        400: problem('A field or the multipart body is invalid.'),
        409: problem('A request with the same Idempotency-Key is still being handled.'),
        413: problem(
          `A file exceeds MAX_FILE_BYTES (${config.MAX_FILE_BYTES}) or there are more than MAX_FILES (${config.MAX_FILES}).`,
        ),
        415: problem('A file is not a PDF, PNG, JPEG, TIFF or WebP.'),
        422: problem(
          'A file is empty, unreadable, encrypted, too large in pixels, or asks for a language not installed; or the Idempotency-Key was used with other files or options.',
        ),
        429: problem(
          "Too many pages are waiting (MAX_QUEUED_PAGES), too many of the client's uploads are in progress (UPLOADS_PER_CLIENT), or its tenant has submitted its documents for this minute (`tenant_limit`); retry after Retry-After.",
        ),
        503: problem('Too many uploads at once, or the job store is unreachable; retry after Retry-After.'),
        507: problem('The server has no room to store the upload.'),
      },
      authenticated: true,
    },
    {
      method: 'get',
      path: '/v1/jobs/{id}',
      summary: 'Job status',
      responses: { 200: json('The job.', documentStateSchema), ...job },
      authenticated: true,
    },
    {
      method: 'delete',
      path: '/v1/jobs/{id}',
      summary: 'Cancel a job and delete its files',
      responses: { 204: { description: 'Canceled; its pages still waiting are removed, and its files.' }, ...job },
      authenticated: true,
    },
    {
      method: 'get',
      path: '/v1/jobs/{id}/events',
      summary: 'Progress as Server-Sent Events',
      description:
        'A `state` event with the job, one `page` event per page that ends (page, status, confidence, pagesDone, pagesFailed), then `end` with the final job. Send Last-Event-ID to resume.',
      headers: [
        { name: 'Last-Event-ID', description: 'The id of the last event received: the stream resumes after it.' },
      ],
      responses: { 200: { description: 'The event stream.', content: { 'text/event-stream': 'text' } }, ...job },
      authenticated: true,
    },
    {
      method: 'get',
      path: '/v1/jobs/{id}/result',
      summary: 'Pages read so far, a window at a time',
      query: resultQuery,
      responses: {
        200: json('Pages offset+1 to offset+limit; those not read yet are pending.', resultSchema),
        400: problem('Bad offset or limit.'),
        ...job,
        ...unfinished,
      },
      authenticated: true,
    },
    {
      method: 'get',
      path: '/v1/jobs/{id}/text',
      summary: 'The whole text, once finished',
      responses: {
        200: {
          description: "Every page's text, in order, pages separated by a form feed.",
          content: { 'text/plain': 'text' },
        },
        ...job,
        ...unfinished,
      },
      authenticated: true,
    },
    {
      method: 'get',
      path: '/v1/jobs/{id}/pdf',
      summary: 'Searchable PDF of the document',
      description: 'The page images with an invisible text layer; only for jobs submitted with outputs=…,pdf.',
      responses: {
        200: { description: 'The PDF.', content: { 'application/pdf': 'binary' } },
        404: problem('No such job, or it did not ask for a PDF.'),
        ...unfinished,
      },
      authenticated: true,
    },
    {
      method: 'get',
      path: '/v1/jobs/{id}/pages/{page}',
      summary: 'One page in one format',
      query: pageFormatQuery,
      responses: {
        200: {
          description: 'The page: JSON, text, or a format the job asked for.',
          content: {
            'application/json': pageResultSchema,
            'text/plain': 'text',
            'application/xhtml+xml': 'text',
            'text/tab-separated-values': 'text',
            'application/pdf': 'binary',
            'image/jpeg': 'binary',
          },
        },
        400: problem('The page number is out of range, or the format unknown.'),
        404: problem('No such job, or the format was not asked for.'),
        409: problem('The page has not been read yet.'),
      },
      authenticated: true,
    },
    {
      method: 'get',
      path: '/v1/workers',
      summary: 'Live workers',
      description:
        'They serve every tenant: with keys in use (`API_KEYS`, `TENANTS`, `ADMIN_API_KEYS`), this takes a key from `ADMIN_API_KEYS`.',
      responses: {
        200: json('Every worker whose heartbeat is recent.', workersSchema),
        403: problem('A valid key that is not one of ADMIN_API_KEYS.'),
      },
      authenticated: true,
    },
    {
      method: 'get',
      path: '/v1/usage',
      summary: "The caller's usage",
      description:
        "Pages the caller's tenant had read, by method and engine, and the worker time they took, since Redis last lost its data.",
      responses: { 200: json("The caller's tenant's usage.", tenantUsageSchema) },
      authenticated: true,
    },
    {
      method: 'get',
      path: '/v1/usage/tenants',
      summary: "Every tenant's usage",
      description:
        'It spans every tenant: with keys in use (`API_KEYS`, `TENANTS`, `ADMIN_API_KEYS`), this takes a key from `ADMIN_API_KEYS`.',
      responses: {
        200: json('Every tenant that has used the service.', tenantsUsageSchema),
        403: problem('A valid key that is not one of ADMIN_API_KEYS.'),
      },
      authenticated: true,
    },
    {
      method: 'get',
      path: '/health',
      summary: 'Liveness',
      responses: { 200: json('The process answers.', healthSchema) },
      authenticated: false,
    },
    {
      method: 'get',
      path: '/ready',
      summary: 'Readiness',
      responses: {
        200: json('Redis answers, the blob store is ready and the uploads folder is writable.', readySchema),
        503: problem('A check fails.'),
      },
      authenticated: false,
    },
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics',
      responses: { 200: { description: 'Prometheus text exposition format.', content: { 'text/plain': 'text' } } },
      authenticated: false,
    },
  ];
}

const COMPONENT = (id: string) => `#/components/schemas/${id}`;

function bodySchema(body: Body): object {
  if (body === 'binary') return { type: 'string', contentMediaType: 'application/octet-stream' };
  if (body === 'text') return { type: 'string' };
  const id = z.globalRegistry.get(body)?.id;
  if (!id) throw new Error('a response schema needs an id in its meta to be a component');
  return { $ref: COMPONENT(id) };
}

/** A request schema as JSON Schema, as clients send it (before defaults and transforms). */
const inputSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input' }) as { properties: Record<string, object>; required?: string[] };

function operationObject(operation: Operation, keys: boolean) {
  const pathParameters = [...operation.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: name === 'page' ? { type: 'integer', minimum: 1 } : { type: 'string', format: 'uuid' },
  }));
  const query = operation.query ? inputSchema(operation.query) : undefined;
  const queryParameters = Object.entries(query?.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: false,
    schema,
  }));
  const headerParameters = (operation.headers ?? []).map((header) => ({
    ...header,
    in: 'header',
    required: false,
    schema: { type: 'string' },
  }));
  const fields = operation.multipart ? inputSchema(operation.multipart) : undefined;
  const responses = Object.fromEntries(
    Object.entries({
      ...operation.responses,
      ...(operation.authenticated
        ? {
            401: problem(
              keys
                ? 'No API key, or not one of API_KEYS or TENANTS.'
                : 'Only when API_KEYS or TENANTS is set: no key, or not one of them.',
            ),
          }
        : {}),
    }).map(([status, response]) => [
      status,
      {
        description: response.description,
        ...(response.content
          ? {
              content: Object.fromEntries(
                Object.entries(response.content).map(([type, body]) => [type, { schema: bodySchema(body) }]),
              ),
            }
          : {}),
      },
    ]),
  );
  return {
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    operationId: `${operation.method}${operation.path
      .replace(/\{(\w+)\}/g, 'By-$1')
      .replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())
      .replace(/[^\w]/g, '')}`,
    parameters: [...pathParameters, ...queryParameters, ...headerParameters],
    ...(fields
      ? {
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  properties: {
                    file: { type: 'array', items: { type: 'string', contentMediaType: 'application/octet-stream' } },
                    ...fields.properties,
                  },
                  required: ['file'],
                },
              },
            },
          },
        }
      : {}),
    responses,
    // Under /v1 a Bearer key is required when API_KEYS or TENANTS is set, and accepted (ignored) otherwise; the
    // probes and the metrics are open, which an empty list says.
    security: operation.authenticated ? (keys ? [{ bearer: [] }] : [{}, { bearer: [] }]) : [],
  };
}

/** The OpenAPI 3.1 document of this API, as configured (limits, defaults, whether keys are asked for). */
export function openApiDocument(config: Config, version: string) {
  const keys = Boolean(config.API_KEYS || config.TENANTS);
  const paths: Record<string, Record<string, object>> = {};
  for (const operation of operations(config)) {
    (paths[operation.path] ??= {})[operation.method] = operationObject(operation, keys);
  }
  const { schemas } = z.toJSONSchema(z.globalRegistry, { uri: COMPONENT });
  // Each component is a schema of the document, not a document of its own.
  const components = Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _schema, $id: _id, ...schema }]) => [id, schema]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'pagefleet',
      version,
      description:
        'OCR of PDFs and scans as jobs: submit, follow, read. One job per document, one queue entry per page.',
    },
    // Relative to where this document was fetched: the API does not know its public address.
    servers: [{ url: '/', description: 'The server that answered this document.' }],
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: keys
            ? 'A key of API_KEYS or of a tenant of TENANTS.'
            : 'Not required: this server has no API_KEYS or TENANTS.',
        },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;
