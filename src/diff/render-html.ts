// One self-contained HTML page: summary, a collapsible tree of differing paths, unified diffs for
// changed text files and hex views around the first differing byte of binaries. No scripts, no fetches.
import { unifiedDiff } from './line-diff.js';
import { showValue } from './render-text.js';
import type { Difference, DiffResult } from './types.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface TreeNode {
  children: Map<string, TreeNode>;
  diffs: Difference[];
}

function newNode(): TreeNode {
  return { children: new Map(), diffs: [] };
}

function byteOrder(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function hexRows(hex: string, start: number, offset: number): string {
  const rows: string[] = [];
  for (let i = 0; i < hex.length / 2; i += 16) {
    const bytes: string[] = [];
    for (let j = i; j < Math.min(i + 16, hex.length / 2); j++) {
      const b = hex.slice(j * 2, j * 2 + 2);
      bytes.push(start + j === offset ? `<mark>${b}</mark>` : b);
    }
    rows.push(`${(start + i).toString(16).padStart(8, '0')}  ${bytes.join(' ')}`);
  }
  return rows.join('\n');
}

function diffLines(text: string): string {
  return text
    .split('\n')
    .map((l) => {
      const cls = l.startsWith('@@') ? 'h' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : '';
      return cls ? `<span class="${cls}">${esc(l)}</span>` : esc(l);
    })
    .join('\n');
}

function renderDifference(d: Difference): string {
  const head = `<span class="sev ${d.severity}">${d.severity}</span> <b>${esc(d.kind)}</b>${d.field ? ` <code>${esc(d.field)}</code>` : ''}: <code>${esc(showValue(d.a))}</code> → <code>${esc(showValue(d.b))}</code>`;
  let body = '';
  if (d.detail?.text) {
    body = `<pre class="diff">${diffLines(`--- a/${d.path ?? ''}\n+++ b/${d.path ?? ''}\n${unifiedDiff(d.detail.text.a, d.detail.text.b)}`)}</pre>`;
  } else if (d.detail?.bytes) {
    const x = d.detail.bytes;
    body = `<p>first differing byte at offset ${x.offset}</p><div class="hex"><pre>A\n${hexRows(x.a, x.start, x.offset)}</pre><pre>B\n${hexRows(x.b, x.start, x.offset)}</pre></div>`;
  }
  return `<li>${head}${body}</li>`;
}

function renderTree(name: string, node: TreeNode, open: boolean): string {
  const kids = [...node.children.entries()].sort(([x], [y]) => byteOrder(x, y));
  const own = node.diffs.length > 0 ? `<ul>${node.diffs.map(renderDifference).join('')}</ul>` : '';
  const sub = kids.map(([k, v]) => renderTree(k, v, false)).join('');
  return `<details${open ? ' open' : ''}><summary>${esc(name)}</summary>${own}${sub}</details>`;
}

/** How every report renderHtml writes starts (the CLI recognises its own reports by it). */
export const HTML_REPORT_HEAD =
  '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>imprint diff</title>';

/** Renders a result as one self-contained HTML page (inline CSS, no scripts). Cost: O(differences + kept text). */
export function renderHtml(r: DiffResult): string {
  const groups = new Map<string, TreeNode>();
  const general: Difference[] = [];
  for (const d of r.differences) {
    if (d.path === undefined) {
      general.push(d);
      continue;
    }
    const key = `${d.platform ?? '-'}${d.layer === undefined ? ' (filesystem)' : ` layer ${d.layer}`}`;
    let node: TreeNode = groups.get(key) ?? newNode();
    groups.set(key, node);
    for (const part of d.path.split('/').filter((p) => p !== '')) {
      const child: TreeNode = node.children.get(part) ?? newNode();
      node.children.set(part, child);
      node = child;
    }
    node.diffs.push(d);
  }
  const summary = new Map<string, number>();
  for (const d of r.differences) summary.set(d.kind, (summary.get(d.kind) ?? 0) + 1);
  const rows = [...summary.entries()]
    .sort(([x], [y]) => byteOrder(x, y))
    .map(([k, n]) => `<tr><td>${esc(k)}</td><td>${n}</td></tr>`);
  const ignored = Object.entries(r.ignored)
    .map(([k, n]) => `${esc(k)}: ${n}`)
    .join(', ');
  const trees = [...groups.entries()]
    .sort(([x], [y]) => byteOrder(x, y))
    .map(([k, v]) => renderTree(k, v, true));
  return `${HTML_REPORT_HEAD}
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}
code,pre{font-family:ui-monospace,monospace;font-size:90%}
pre.diff{background:#f6f8fa;padding:.5em;overflow:auto}
.add{color:#116329;background:#dafbe1}.del{color:#82071e;background:#ffebe9}.h{color:#8250df}
.hex{display:flex;gap:2em}mark{background:#ffd33d}
details{margin-left:1em}summary{cursor:pointer;font-family:ui-monospace,monospace}
.sev{font-size:80%;padding:0 .3em;border-radius:3px}.high{background:#ffebe9}.medium{background:#fff8c5}.low{background:#eee}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left}
</style></head><body>
<h1>imprint diff</h1>
<p><code>${esc(r.a)}</code> vs <code>${esc(r.b)}</code>: <b>${r.identical ? 'the same' : `${r.differences.length} difference${r.differences.length === 1 ? '' : 's'}`}</b>${ignored ? ` (ignored: ${ignored})` : ''}; platforms compared: ${esc(r.platforms.join(', ') || 'none')}</p>
${rows.length ? `<table><tr><th>kind</th><th>count</th></tr>${rows.join('')}</table>` : ''}
${general.length ? `<h2>Images</h2><ul>${general.map((d) => `<li>${esc(d.platform ?? '')} ${renderDifference(d).slice(4)}`).join('')}</ul>` : ''}
${trees.length ? `<h2>Paths</h2>${trees.join('\n')}` : ''}
</body></html>
`;
}
