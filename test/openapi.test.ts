import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Express } from 'express';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { loadConfig } from '@pagefleet/shared';
import { createServer } from '../apps/api/src/server.js';
import { openApiDocument, type OpenApiDocument } from '../apps/api/src/openapi.js';
import { pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { finished, startStack, type Stack } from './support/stack.js';

interface Layer {
  rawPath?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every method and path the Express app answers, in OpenAPI's form (`{id}` for `:id`). */
function registeredRoutes(app: Express): string[] {
  const routes: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = `${prefix}${layer.route.path === '/' ? '' : layer.route.path}`.replace(/:(\w+)/g, '{$1}') || '/';
        for (const method of Object.keys(layer.route.methods)) routes.push(`${method} ${path}`);
      } else if (layer.handle.stack && typeof layer.rawPath === 'string') {
        walk(layer.handle.stack, `${prefix}${layer.rawPath === '/' ? '' : layer.rawPath}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return routes.sort();
}

describe('OpenAPI document', () => {
  let stack: Stack;
  let contract: OpenApiDocument;
  let ajv: Ajv2020;
  before(async () => {
    stack = await startStack({
      API_KEYS: 'a-key-of-sixteen-chars-or-more',
      ADMIN_API_KEYS: 'a-key-of-sixteen-chars-or-more',
    });
    await stack.startWorker();
    contract = (await (await fetch(`${stack.url}/openapi.json`)).json()) as OpenApiDocument;
    ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'openapi', components: contract.components });
  });
  after(() => stack.stop());
  const auth = { authorization: 'Bearer a-key-of-sixteen-chars-or-more' };

  test("passes Redocly's recommended rules, served with API_KEYS and as an open server documents itself", async () => {
    assert.deepEqual(await redoclyProblems(contract), ACCEPTED_WARNINGS);
    assert.deepEqual(await redoclyProblems(openApiDocument(loadConfig({}), '0.0.0')), ACCEPTED_WARNINGS);
  });

  /** Fails unless the response's status and type are documented for the operation and its body validates. */
  async function conforms(response: Response, method: string, path: string): Promise<unknown> {
    const operation = (
      contract.paths[path] as
        Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }> | undefined
    )?.[method];
    assert.ok(operation, `${method} ${path} is not in the document`);
    const documented = operation.responses[String(response.status)];
    assert.ok(documented, `${method} ${path} answered ${response.status}, which the document does not list`);
    const type = (response.headers.get('content-type') ?? '').split(';')[0] as string;
    if (!documented.content) return undefined;
    const media = documented.content[type];
    assert.ok(
      media,
      `${method} ${path} ${response.status} answered ${type}, documented: ${Object.keys(documented.content).join(', ')}`,
    );
    if (!type.endsWith('json')) return response.text();
    const body: unknown = await response.json();
    const schema = JSON.parse(
      JSON.stringify(media.schema).replaceAll('"#/components', '"openapi#/components'),
    ) as object;
    const valid = ajv.validate(schema, body);
    assert.ok(
      valid,
      `${method} ${path} ${response.status}: ${ajv.errorsText()}\n${JSON.stringify(body).slice(0, 500)}`,
    );
    return body;
  }

  test('is OpenAPI 3.1 and lists exactly the routes the app registers', () => {
    assert.equal(contract.openapi, '3.1.0');
    const documented = Object.entries(contract.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method} ${path}`))
      .sort();
    const app = createServer(stack.api);
    // The document describes the API; the documents about it (itself, /docs) are not operations.
    const registered = registeredRoutes(app).filter((route) => !['get /openapi.json', 'get /docs'].includes(route));
    assert.deepEqual(documented, registered);
  });

  test('real answers validate against it, errors included', async () => {
    const pdf = await pdfOf([await textPage(['The contract cannot drift from the code.'])]);
    const form = new FormData();
    form.append('file', new Blob([pdf]), 'one.pdf');
    form.append('outputs', 'text,json,pdf');
    const submitted = (await conforms(
      await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: form, headers: auth }),
      'post',
      '/v1/jobs',
    )) as { id: string };
    await conforms(
      await fetch(`${stack.url}/v1/jobs/${submitted.id}/text`, { headers: auth }),
      'get',
      '/v1/jobs/{id}/text',
    );
    await stack.waitFor(submitted.id, finished);
    const id = submitted.id;
    await conforms(await fetch(`${stack.url}/v1/jobs/${id}`, { headers: auth }), 'get', '/v1/jobs/{id}');
    await conforms(await fetch(`${stack.url}/v1/jobs/${id}/result`, { headers: auth }), 'get', '/v1/jobs/{id}/result');
    await conforms(
      await fetch(`${stack.url}/v1/jobs/${id}/result?limit=0`, { headers: auth }),
      'get',
      '/v1/jobs/{id}/result',
    );
    await conforms(
      await fetch(`${stack.url}/v1/jobs/${id}/pages/1`, { headers: auth }),
      'get',
      '/v1/jobs/{id}/pages/{page}',
    );
    await conforms(
      await fetch(`${stack.url}/v1/jobs/${id}/pages/1?format=pdf`, { headers: auth }),
      'get',
      '/v1/jobs/{id}/pages/{page}',
    );
    await conforms(
      await fetch(`${stack.url}/v1/jobs/${id}/pages/1?format=hocr`, { headers: auth }),
      'get',
      '/v1/jobs/{id}/pages/{page}',
    );
    await conforms(await fetch(`${stack.url}/v1/jobs/${id}/pdf`, { headers: auth }), 'get', '/v1/jobs/{id}/pdf');
    await conforms(await fetch(`${stack.url}/v1/jobs/${id}/events`, { headers: auth }), 'get', '/v1/jobs/{id}/events');
    await conforms(await fetch(`${stack.url}/v1/workers`, { headers: auth }), 'get', '/v1/workers');
    await conforms(await fetch(`${stack.url}/v1/jobs/${id}`), 'get', '/v1/jobs/{id}');
    await conforms(
      await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE', headers: auth }),
      'delete',
      '/v1/jobs/{id}',
    );
    await conforms(await fetch(`${stack.url}/v1/jobs/${id}`, { headers: auth }), 'get', '/v1/jobs/{id}');
    await conforms(await fetch(`${stack.url}/health`), 'get', '/health');
    await conforms(await fetch(`${stack.url}/ready`), 'get', '/ready');
    await conforms(await fetch(`${stack.url}/metrics`), 'get', '/metrics');
    const empty = new FormData();
    empty.append('file', new Blob([]), 'empty.pdf');
    await conforms(
      await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: empty, headers: auth }),
      'post',
      '/v1/jobs',
    );
  });

  test('a schema in it refuses what the API would never answer', () => {
    const schema = { $ref: 'openapi#/components/schemas/Job' };
    assert.equal(ajv.validate(schema, { id: 'not-a-uuid', status: 'queued' }), false);
  });

  test('/docs renders every operation for people, with a policy that allows its style and no script', async () => {
    const response = await fetch(`${stack.url}/docs`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    assert.match(response.headers.get('content-security-policy') ?? '', /style-src 'sha256-[^']+'/);
    assert.doesNotMatch(response.headers.get('content-security-policy') ?? '', /script-src/);
    const html = await response.text();
    for (const path of Object.keys(contract.paths))
      assert.ok(html.includes(`<code>${path}</code>`), `${path} missing from /docs`);
  });
});

/** Redocly's recommended rules over a document: every problem as "severity rule pointer", sorted. */
async function redoclyProblems(document: object): Promise<string[]> {
  const problems = await lintFromString({
    source: JSON.stringify(document),
    absoluteRef: 'openapi.json',
    config: await createConfig({ extends: ['recommended'] }),
  });
  return problems
    .map((problem) => `${problem.severity} ${problem.ruleId} ${problem.location[0]?.pointer ?? ''}`)
    .sort();
}

/**
 * No error; the warnings left are where the API has nothing truer to say: the project has chosen
 * no licence to declare, and the probes and the scrape answer no 4xx.
 */
const ACCEPTED_WARNINGS = [
  'warn info-license #/info',
  'warn operation-4xx-response #/paths/~1health/get/responses',
  'warn operation-4xx-response #/paths/~1metrics/get/responses',
  'warn operation-4xx-response #/paths/~1ready/get/responses',
];
