import * as z from 'zod';
import { specSchema } from './schema.js';

/** Where the generated JSON Schema is committed, relative to the project root. */
export const JSON_SCHEMA_PATH = 'schema/imprint.schema.json';

/** The JSON Schema (draft-07, widely supported by editors) of what imprint.yaml may contain. Pure. */
export function specJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(specSchema, { io: 'input', target: 'draft-7', unrepresentable: 'throw' }) as Record<
    string,
    unknown
  >;
}

/** specJsonSchema as the exact text committed in schema/imprint.schema.json (2-space indent, final newline). */
export function specJsonSchemaText(): string {
  return `${JSON.stringify(specJsonSchema(), null, 2)}\n`;
}
