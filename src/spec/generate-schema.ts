// Rewrites schema/imprint.schema.json from the zod schema:
//   node --import tsx src/spec/generate-schema.ts
import { rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_PATH, specJsonSchemaText } from './json-schema.js';

/** Writes the JSON Schema to `target` atomically (temp name, then rename). */
export async function writeSpecJsonSchema(target: string): Promise<void> {
  const temp = `${target}.tmp-${process.pid}`;
  await writeFile(temp, specJsonSchemaText());
  await rename(temp, target);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = fileURLToPath(new URL(`../../${JSON_SCHEMA_PATH}`, import.meta.url));
  await writeSpecJsonSchema(target);
}
