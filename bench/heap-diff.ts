// Bench tool (p1 profiling), never part of the product: compares two V8 heap snapshots
// (BENCH_HEAP_SNAPSHOT_DIR, bench/gc-hook.mjs) by constructor, and shows who retains a constructor's
// objects. `npx tsx bench/heap-diff.ts <before> <after> [sessions added] [--retainers Name,...]`.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** A parsed snapshot with its nodes' class names, sizes and first strong retainer. */
const load = (file: string) => {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const nf = s.snapshot.meta.node_fields.length;
  const ef = s.snapshot.meta.edge_fields.length;
  const types = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const count = s.nodes.length / nf;
  const cls: string[] = new Array(count);
  const size = new Float64Array(count);
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    const type = types[s.nodes[i * nf] as number] as string;
    const name = s.strings[s.nodes[i * nf + 1] as number] as string;
    size[i] = s.nodes[i * nf + 3] as number;
    firstEdge[i] = e;
    e += (s.nodes[i * nf + 4] as number) * ef;
    cls[i] =
      type === 'object' || type === 'closure' || type === 'native'
        ? `${name}${type === 'closure' ? '()' : ''}`
        : type.includes('string')
          ? '(string)'
          : `(${type})${type === 'hidden' || type === 'array' || type === 'object shape' ? ` ${name}` : ''}`;
  }
  firstEdge[count] = s.edges.length;
  // Retainers: from-node and edge label of every edge into a node (weak edges and shortcuts left out).
  const retainers: { from: number; label: string }[][] = Array.from({ length: count }, () => []);
  for (let i = 0; i < count; i++) {
    for (let e = firstEdge[i] as number; e < (firstEdge[i + 1] as number); e += ef) {
      const et = edgeTypes[s.edges[e] as number] as string;
      if (et === 'weak' || et === 'shortcut') continue;
      const nameOrIndex = s.edges[e + 1] as number;
      const label = et === 'element' || et === 'hidden' ? `[${et}]` : (s.strings[nameOrIndex] as string);
      (retainers[(s.edges[e + 2] as number) / nf] as { from: number; label: string }[]).push({
        from: i,
        label,
      });
    }
  }
  return { cls, size, retainers, count };
};

const byClass = (h: ReturnType<typeof load>) => {
  const out = new Map<string, { n: number; bytes: number }>();
  for (let i = 0; i < h.count; i++) {
    const c = out.get(h.cls[i] as string) ?? { n: 0, bytes: 0 };
    c.n += 1;
    c.bytes += h.size[i] as number;
    out.set(h.cls[i] as string, c);
  }
  return out;
};

const [beforeFile, afterFile, addedArg, ...rest] = process.argv.slice(2);
const added = Number(addedArg ?? 1) || 1;
const wanted = (rest[rest.indexOf('--retainers') + 1] ?? '').split(',').filter(Boolean);
const before = byClass(load(beforeFile as string));
const afterHeap = load(afterFile as string);
const after = byClass(afterHeap);
let total = 0;
const rows = [...after.entries()].map(([c, a]) => {
  const b = before.get(c) ?? { n: 0, bytes: 0 };
  total += a.bytes - b.bytes;
  return { c, n: (a.n - b.n) / added, bytes: (a.bytes - b.bytes) / added };
});
rows.sort((x, y) => y.bytes - x.bytes);
console.log(`heap growth per session: ${(total / added / 1024).toFixed(1)} KB`);
for (const r of rows.slice(0, 60))
  console.log(`${(r.bytes / 1024).toFixed(1).padStart(9)} KB ${r.n.toFixed(1).padStart(9)} objs  ${r.c}`);

// For each wanted class: its objects' retainers in the later snapshot, two levels up.
for (const w of wanted) {
  const paths = new Map<string, { n: number; bytes: number }>();
  for (let i = 0; i < afterHeap.count; i++) {
    if (afterHeap.cls[i] !== w) continue;
    const r1 = afterHeap.retainers[i]?.[0];
    const r2 = r1 && afterHeap.retainers[r1.from]?.[0];
    const r3 = r2 && afterHeap.retainers[r2.from]?.[0];
    const path = [r1, r2, r3]
      .filter((r) => r !== undefined)
      .map((r) => `${afterHeap.cls[r.from]}.${r.label}`)
      .join(' <- ');
    const p = paths.get(path) ?? { n: 0, bytes: 0 };
    p.n += 1;
    p.bytes += afterHeap.size[i] as number;
    paths.set(path, p);
  }
  console.log(`\nretainers of ${w}:`);
  for (const [p, v] of [...paths.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 15))
    console.log(`${(v.bytes / 1024).toFixed(0).padStart(8)} KB ${String(v.n).padStart(7)}  ${p}`);
}
