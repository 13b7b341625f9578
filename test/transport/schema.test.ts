// The documents transports write (oci-layout, index.json) conform to the OCI image-spec's own JSON Schemas,
// when ../shared/oci-schemas is present (the schemas are not copied into the project).
import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import AjvDraft04 from 'ajv-draft-04';
import { BlobStore, readBounded } from '../../src/store/index.js';
import { readTar } from '../../src/tar/index.js';
import { parseReference, writeImageSet } from '../../src/transport/index.js';
import { makeImage } from './fixtures.js';

const SCHEMAS = fileURLToPath(new URL('../../../shared/oci-schemas/', import.meta.url));
const skip = existsSync(SCHEMAS) ? false : `no OCI schemas at ${SCHEMAS}`;

// a CommonJS module: its class is `module.exports.default` under NodeNext typing (and at run time)
const Ajv = AjvDraft04.default;
type Ajv = InstanceType<typeof Ajv>;

/** Schemas keyed by file name, with nested ids removed so that `defs.json#/...` refs resolve by file name. */
async function loadAjv(): Promise<Ajv> {
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  const dropIds = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(dropIds);
    if (typeof v !== 'object' || v === null) return v;
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'id' && k !== '$schema')
        .map(([k, x]) => [k, dropIds(x)]),
    );
  };
  for (const name of (await readdir(SCHEMAS)).filter((n) => n.endsWith('.json')).sort()) {
    ajv.addSchema(dropIds(JSON.parse(await readFile(join(SCHEMAS, name), 'utf8'))) as object, name);
  }
  return ajv;
}

function check(ajv: Ajv, schema: string, doc: unknown, what: string): void {
  const validate = ajv.getSchema(schema);
  assert.ok(validate, `schema ${schema} is loaded`);
  assert.ok(validate(doc), `${what} does not match ${schema}: ${JSON.stringify(validate.errors)}`);
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-schema-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('OCI schema conformance of written layouts', { skip }, () => {
  it('oci: oci-layout and index.json', async () => {
    const ajv = await loadAjv();
    const img = await makeImage(new BlobStore(join(dir, 'store')));
    const out = join(dir, 'oci');
    await writeImageSet(parseReference(`oci:${out}:v1`), img.set);
    check(
      ajv,
      'image-layout-schema.json',
      JSON.parse(await readFile(join(out, 'oci-layout'), 'utf8')),
      'oci-layout',
    );
    check(
      ajv,
      'image-index-schema.json',
      JSON.parse(await readFile(join(out, 'index.json'), 'utf8')),
      'index.json',
    );
    // the schema check can fail: a descriptor without a digest is rejected
    assert.equal(
      ajv.getSchema('image-index-schema.json')?.({
        schemaVersion: 2,
        manifests: [{ mediaType: 'a/b', size: 1 }],
      }),
      false,
    );
  });

  it('docker-archive and oci-archive: index.json and oci-layout inside the tar', async () => {
    const ajv = await loadAjv();
    const img = await makeImage(new BlobStore(join(dir, 'store')));
    for (const ref of [`docker-archive:${join(dir, 'd.tar')}:app:1`, `oci-archive:${join(dir, 'o.tar')}:1`]) {
      await writeImageSet(parseReference(ref), img.set);
      const file =
        parseReference(ref).transport === 'docker-archive' ? join(dir, 'd.tar') : join(dir, 'o.tar');
      let seen = 0;
      for await (const e of readTar(createReadStream(file), { archive: file })) {
        if (e.path !== 'index.json' && e.path !== 'oci-layout') continue;
        const doc = JSON.parse((await readBounded(e.body, 1 << 20, e.path)).toString('utf8'));
        check(
          ajv,
          e.path === 'index.json' ? 'image-index-schema.json' : 'image-layout-schema.json',
          doc,
          `${ref} ${e.path}`,
        );
        seen++;
      }
      assert.equal(seen, 2);
    }
  });
});
