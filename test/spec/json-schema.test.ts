import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { JSON_SCHEMA_PATH, parseSpec, specJsonSchema, specJsonSchemaText } from '../../src/spec/index.js';

const committed = new URL(`../../${JSON_SCHEMA_PATH}`, import.meta.url);

describe('published JSON Schema', () => {
  it('equals the output of the zod schema (run src/spec/generate-schema.ts after changing it)', async () => {
    assert.equal(await readFile(committed, 'utf8'), specJsonSchemaText());
  });

  it('is draft-07 and strict about keys', () => {
    const schema = specJsonSchema();
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required, ['version']);
  });

  const validate = new Ajv({ strict: false, allErrors: true }).compile(specJsonSchema());
  const accepted = [
    'version: 1\n',
    'version: 1\nplatforms: [linux/arm/v7]\nfiles: [{source: a, target: /a, mode: "0755", owner: "1:2"}]\n',
    'version: 1\naccounts: {users: [{name: app, uid: 1}], groups: [{name: g, gid: 2, members: [app]}]}\nuser: app\n',
    'version: 1\nsources: [{suites: [bookworm], check-valid-until: false}]\npackages: [curl]\ncompression: {algorithm: zstd}\n',
  ];
  const rejected = [
    'version: 2\n',
    'version: 1\nentrypiont: [x]\n',
    'version: 1\nfiles: [{source: a, target: /a, mode: 755}]\n',
    'version: 1\nenv: {PORT: 8080}\n',
    'version: 1\nlayering: {strategy: layered}\n',
  ];

  for (const text of accepted) {
    it(`accepts what parseSpec accepts: ${JSON.stringify(text)}`, () => {
      parseSpec(text, 'imprint.yaml');
      assert.ok(validate(parse(text)), JSON.stringify(validate.errors));
    });
  }
  for (const text of rejected) {
    it(`rejects what parseSpec rejects: ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseSpec(text, 'imprint.yaml'), { code: 'SPEC_INVALID' });
      assert.equal(validate(parse(text)), false);
    });
  }
});
