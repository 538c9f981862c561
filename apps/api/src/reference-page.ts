import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { OpenApiDocument } from './openapi.js';

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string,
  );

const CSS = `body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}
h1,h2,h3{line-height:1.2}code,pre{font-family:ui-monospace,monospace;font-size:.9em}
pre{background:#f4f4f4;padding:.75rem;overflow:auto;border-radius:4px}
.method{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
section{border-top:1px solid #ccc;padding-top:1rem;margin-top:1.5rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
a{color:#0645ad}a:focus,summary:focus{outline:3px solid #0645ad;outline-offset:2px}`;

// The page carries its own style and nothing else: the CSP allows exactly that style block.
const CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'; frame-ancestors 'none'`;

interface OperationView {
  summary?: string;
  description?: string;
  parameters?: Array<{
    name: string;
    in: string;
    required?: boolean;
    description?: string;
    schema?: { description?: string };
  }>;
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}

function operationHtml(method: string, path: string, operation: OperationView): string {
  const parameters = operation.parameters ?? [];
  const rows = parameters
    .map(
      (p) =>
        `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : 'no'}</td><td>${escapeHtml(p.description ?? p.schema?.description ?? '')}</td></tr>`,
    )
    .join('');
  const responses = Object.entries(operation.responses)
    .map(
      ([status, response]) =>
        `<li><strong>${status}</strong> ${escapeHtml(response.description)}${response.content ? ` <code>${escapeHtml(Object.keys(response.content).join(', '))}</code>` : ''}</li>`,
    )
    .join('');
  return `<section aria-labelledby="${method}-${path}">
<h3 id="${method}-${path}"><span class="method">${method}</span> <code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(operation.summary ?? '')}${operation.description ? `. ${escapeHtml(operation.description)}` : ''}</p>
${rows ? `<table><caption>Parameters</caption><thead><tr><th scope="col">name</th><th scope="col">in</th><th scope="col">required</th><th scope="col">meaning</th></tr></thead><tbody>${rows}</tbody></table>` : ''}
${operation.requestBody ? `<details><summary>Request body</summary><pre>${escapeHtml(JSON.stringify(operation.requestBody.content, null, 2))}</pre></details>` : ''}
<h4>Responses</h4><ul>${responses}</ul>
</section>`;
}

/** `GET /docs`: the OpenAPI document as a page to read, rendered here, with no script. */
export function referencePage(document: OpenApiDocument): RequestHandler {
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => operationHtml(method, path, operation as OperationView)),
  );
  const schemas = Object.entries(document.components.schemas)
    .map(
      ([id, schema]) =>
        `<section aria-labelledby="schema-${id}"><h3 id="schema-${id}">${id}</h3><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></section>`,
    )
    .join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>pagefleet API reference</title><style>${CSS}</style></head>
<body><main>
<h1>pagefleet API ${escapeHtml(document.info.version)}</h1>
<p>${escapeHtml(document.info.description)} The machine-readable contract is <a href="/openapi.json">/openapi.json</a> (OpenAPI ${document.openapi}).</p>
<h2>Operations</h2>${operations.join('\n')}
<h2>Schemas</h2>${schemas}
</main></body></html>`;
  return (_req, res) => {
    res.set('Content-Security-Policy', CSP).type('html').send(html);
  };
}
