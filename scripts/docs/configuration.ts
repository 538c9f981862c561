import { z } from 'zod';
import { CONFIG_SCHEMA } from '@pagefleet/shared';

interface Property {
  type?: string;
  enum?: string[];
  default?: string | number | boolean;
  minimum?: number;
  maximum?: number;
  description?: string;
}

const BOOLEAN = ['true', '1', 'false', '0'];

/** A variable's accepted values, from its JSON Schema (the values the environment may hold). */
function typeOf(property: Property): string {
  const values = property.enum;
  if (values?.length === BOOLEAN.length && BOOLEAN.every((value) => values.includes(value))) {
    return 'boolean (`true`/`1`, `false`/`0`)';
  }
  if (values) return values.map((value) => `\`${value}\``).join(' \\| ');
  if (property.type === 'integer') {
    return property.maximum === Number.MAX_SAFE_INTEGER
      ? `integer ≥ ${property.minimum}`
      : `integer ${property.minimum}–${property.maximum}`;
  }
  return property.type ?? 'string';
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** docs/configuration.md: every variable of the config schema with its type, default and description. */
export function configurationMarkdown(): string {
  const schema = z.toJSONSchema(CONFIG_SCHEMA, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, Property>;
  };
  const rows = Object.entries(schema.properties).map(([name, property]) => {
    const fallback =
      property.default === undefined ? 'unset' : property.default === '' ? 'empty' : `\`${String(property.default)}\``;
    return `| \`${name}\` | ${typeOf(property)} | ${fallback} | ${cell(property.description ?? '')} |`;
  });
  return `# Configuration

<!-- Generated from the config schema (packages/shared/src/config.ts) by \`npm run docs\`; a test fails when the two differ. -->

Read once at start-up from the environment and validated; a bad value stops the process (exit 78)
with a message naming the variable. The API and the workers read the same variables; an empty
value counts as unset.

| Variable | Type | Default | Meaning |
|---|---|---|---|
${rows.join('\n')}
`;
}
