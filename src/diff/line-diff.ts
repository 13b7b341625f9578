// A unified diff of two texts (Myers' O((N+M)D) algorithm), bounded in edit distance.

/** Edit distance beyond which the diff gives up and shows both texts as replaced. */
const MAX_EDITS = 4000;

type Op = { op: ' ' | '-' | '+'; line: string };

function splitLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function editScript(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDITS);
  const offset = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    const next = v.slice();
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, a, b, d, offset);
    }
    v = next;
  }
  return [...a.map((line): Op => ({ op: '-', line })), ...b.map((line): Op => ({ op: '+', line }))];
}

function backtrack(trace: Int32Array[], a: string[], b: string[], dEnd: number, offset: number): Op[] {
  const ops: Op[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = dEnd; d > 0; d--) {
    const v = trace[d]!; // the V before step d
    const k = x - y;
    const down = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!);
    const prevK = down ? k + 1 : k - 1;
    const prevX = v[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ op: ' ', line: a[--x]! });
      y--;
    }
    if (down) ops.push({ op: '+', line: b[--y]! });
    else ops.push({ op: '-', line: a[--x]! });
  }
  while (x > 0 && y > 0) {
    ops.push({ op: ' ', line: a[--x]! });
    y--;
  }
  return ops.reverse();
}

/** The unified diff (`@@ -l,n +l,n @@` hunks, 3 lines of context) of two texts; '' when equal. Cost: O((N+M)·D), D capped. */
export function unifiedDiff(a: string, b: string, context = 3): string {
  const la = splitLines(a);
  const lb = splitLines(b);
  const ops = editScript(la, lb);
  const out: string[] = [];
  let i = 0;
  let lineA = 1;
  let lineB = 1;
  const pos: { a: number; b: number }[] = [];
  for (const o of ops) {
    pos.push({ a: lineA, b: lineB });
    if (o.op !== '+') lineA++;
    if (o.op !== '-') lineB++;
  }
  while (i < ops.length) {
    if (ops[i]!.op === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // extend while changes are closer than 2 × context apart
    for (;;) {
      while (end < ops.length && ops[end]!.op !== ' ') end++;
      let gap = end;
      while (gap < ops.length && ops[gap]!.op === ' ' && gap - end < 2 * context) gap++;
      if (gap < ops.length && ops[gap]!.op !== ' ') end = gap;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const slice = ops.slice(start, stop);
    const countA = slice.filter((o) => o.op !== '+').length;
    const countB = slice.filter((o) => o.op !== '-').length;
    const p = pos[start]!;
    out.push(`@@ -${countA === 0 ? p.a - 1 : p.a},${countA} +${countB === 0 ? p.b - 1 : p.b},${countB} @@`);
    for (const o of slice) out.push(`${o.op}${o.line}`);
    i = stop;
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
