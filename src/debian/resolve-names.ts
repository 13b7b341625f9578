import { compareCodeUnits } from '../oci/canonical-json.js';

/** How many suggestions a PACKAGE_NOT_FOUND error offers at most. */
export const MAX_NAME_SUGGESTIONS = 5;

/**
 * The names nearest to `wanted` by edit distance (Levenshtein, case-insensitive), at most `limit`,
 * ordered by distance then code units. Only names within distance max(2, ⌊len/3⌋) (and closer than the
 * word's own length) are offered. Cost: O(names × len) with early cut-off; meant for error paths.
 */
export function nearestNames(
  wanted: string,
  names: Iterable<string>,
  limit = MAX_NAME_SUGGESTIONS,
): string[] {
  const word = wanted.toLowerCase();
  const max = Math.min(Math.max(2, Math.floor(word.length / 3)), Math.max(word.length - 1, 1));
  const hits: Array<{ name: string; d: number }> = [];
  for (const name of names) {
    if (name === wanted) continue;
    const d = boundedDistance(word, name.toLowerCase(), max);
    if (d <= max) hits.push({ name, d });
  }
  hits.sort((a, b) => a.d - b.d || compareCodeUnits(a.name, b.name));
  return hits.slice(0, limit).map((h) => h.name);
}

/** Levenshtein distance of `a` and `b`, or `max + 1` as soon as it is known to exceed `max`. */
export function boundedDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const v = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length] as number;
}
