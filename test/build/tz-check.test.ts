// TZ=Area/Zone in the env needs /usr/share/zoneinfo/Area/Zone: without it glibc silently uses UTC.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configNotes, runCheckInputs } from '../../src/build/run-check.js';
import { tzNotes } from '../../src/build/tz-check.js';
import type { ContainerConfig } from '../../src/oci/types.js';
import type { FileTree } from '../../src/vfs/tree.js';
import { memTree } from '../helpers/mem-tree.js';

const image = (zones: string[]): FileTree =>
  memTree(Object.fromEntries(zones.map((z) => [`/usr/share/zoneinfo/${z}`, 'TZif'])));
const env = (tz: string): ContainerConfig => ({ Env: ['PATH=/usr/bin', `TZ=${tz}`] });
const AMD64 = 'linux/amd64';

describe('TZ check', () => {
  test('a zone the image lacks: the hint names tzdata when there is no zoneinfo at all', () => {
    const [none] = tzNotes(image([]), env('Europe/Paris'), AMD64);
    assert.match(
      none!,
      /env TZ=Europe\/Paris \(linux\/amd64\) names \/usr\/share\/zoneinfo\/Europe\/Paris, which is not in the image: programs will use UTC; add tzdata/,
    );
    const [other] = tzNotes(image(['Europe/Berlin']), env(':Europe/Pariss'), AMD64);
    assert.match(other!, /use a zone name tzdata ships/);
  });

  test('a zone the image has, a POSIX rule, an absolute path that exists: no warning', () => {
    const t = image(['Europe/Paris']);
    assert.deepEqual(tzNotes(t, env('Europe/Paris'), AMD64), []);
    assert.deepEqual(tzNotes(t, env(':Europe/Paris'), AMD64), []);
    assert.deepEqual(tzNotes(t, env('/usr/share/zoneinfo/Europe/Paris'), AMD64), []);
    assert.deepEqual(tzNotes(image([]), env('EST5EDT'), AMD64), []);
    assert.deepEqual(tzNotes(image([]), env('UTC'), AMD64), []);
    assert.deepEqual(tzNotes(image([]), { Env: ['PATH=/usr/bin'] }, AMD64), []);
  });

  test('part of the config notes, and an input of the cached check', async () => {
    assert.equal((await configNotes(image([]), env('Asia/Tokyo'), AMD64)).length, 1);
    assert.notEqual(runCheckInputs(env('Asia/Tokyo')), runCheckInputs(env('Europe/Paris')));
  });
});
