// Writes the documentation pages that are generated from the code: docs/configuration.md.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configurationMarkdown } from './docs/configuration.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
await writeFile(path.join(root, 'docs', 'configuration.md'), configurationMarkdown());
console.log('wrote docs/configuration.md');
