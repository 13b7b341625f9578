import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { BlobStore, defaultCacheDir } from '../store/index.js';

/** The cache directory named by --cache-dir or the environment, and the content store inside it. */
export function openCache(cacheDir: string | undefined): { cacheDir: string; store: BlobStore } {
  const dir = resolve(cacheDir ?? defaultCacheDir(process.env, homedir()));
  return { cacheDir: dir, store: new BlobStore(dir) };
}
