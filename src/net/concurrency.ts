/**
 * Maps `items` through `fn` with at most `limit` calls in flight, keeping the input order in the
 * result. On the first failure no new calls start, and once the calls already running have settled
 * (so nothing keeps writing after the caller moved on) the promise rejects with the error of the
 * lowest index among them: with `limit` at least the item count, every call runs, and the error is
 * the first in input order whatever the timing.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`mapLimit: limit must be a positive integer, got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  // The failure of the lowest index among the calls that ran, not the first in time: which error a
  // run reports must not depend on timing.
  const failures = new Map<number, unknown>();
  const worker = async (): Promise<void> => {
    while (failures.size === 0 && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (err) {
        failures.set(i, err);
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < Math.min(limit, items.length); w++) workers.push(worker());
  await Promise.all(workers);
  if (failures.size > 0) throw failures.get(Math.min(...failures.keys()));
  return results;
}

/**
 * Indexes of `items` by size, largest first (index order among equal sizes and for items without
 * one): the order to start long jobs in, so that no long job starts last and runs alone.
 */
export function largestFirst(items: readonly { size?: number }[]): number[] {
  return items.map((_, i) => i).sort((a, b) => (items[b]?.size ?? 0) - (items[a]?.size ?? 0) || a - b);
}
