/**
 * Diffs two V8 heap snapshots of one process (e.g. the soak's --heap-snapshots): per constructor
 * (node type + name) the count and self size in each and the change, and for the objects that are
 * new in the second (V8 keeps node ids stable within a process) and still alive, who holds them —
 * grouped by the retaining object's constructor and the edge name. That is where a leak lives.
 *
 *   node --import tsx scripts/heap-diff.ts A.heapsnapshot B.heapsnapshot [--top 25] [--retainers 5] [--min-count 50]
 *
 * Reads whole snapshots into memory (a 150 MB heap makes a ~300 MB file; give node
 * --max-old-space-size=8192 for large ones).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: unknown[]; edge_fields: string[]; edge_types: unknown[] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Parsed {
  count: number;
  typeOf: string[];
  nameOf: (i: number) => string;
  type: Uint8Array;
  name: Uint32Array;
  id: Uint32Array;
  selfSize: Float64Array;
  /** Retainers of node i: retainerStart[i]..retainerStart[i+1] in retainerNode/retainerEdgeName. */
  retainerStart: Uint32Array;
  retainerNode: Uint32Array;
  retainerEdge: string[];
}

function parse(file: string): Parsed {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { node_fields, node_types, edge_fields, edge_types } = raw.snapshot.meta;
  const nf = node_fields.length;
  const ef = edge_fields.length;
  const typeOf = node_types[0] as string[];
  const edgeTypeOf = edge_types[0] as string[];
  const iType = node_fields.indexOf('type');
  const iName = node_fields.indexOf('name');
  const iId = node_fields.indexOf('id');
  const iSize = node_fields.indexOf('self_size');
  const iEdges = node_fields.indexOf('edge_count');
  const eType = edge_fields.indexOf('type');
  const eName = edge_fields.indexOf('name_or_index');
  const eTo = edge_fields.indexOf('to_node');
  const count = raw.nodes.length / nf;
  const type = new Uint8Array(count);
  const name = new Uint32Array(count);
  const id = new Uint32Array(count);
  const selfSize = new Float64Array(count);
  const edgeCount = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * nf;
    type[i] = raw.nodes[o + iType]!;
    name[i] = raw.nodes[o + iName]!;
    id[i] = raw.nodes[o + iId]!;
    selfSize[i] = raw.nodes[o + iSize]!;
    edgeCount[i] = raw.nodes[o + iEdges]!;
  }
  // Reverse the edges (weak ones excluded: they do not retain).
  const retainCount = new Uint32Array(count + 1);
  const weak = edgeTypeOf.indexOf('weak');
  let e = 0;
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < edgeCount[i]!; k++, e += ef) {
      if (raw.edges[e + eType] === weak) continue;
      retainCount[raw.edges[e + eTo]! / nf]! += 1;
    }
  }
  const retainerStart = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) retainerStart[i + 1] = retainerStart[i]! + retainCount[i]!;
  const fill = retainerStart.slice(0, count);
  const retainerNode = new Uint32Array(retainerStart[count]!);
  const retainerEdge: string[] = new Array(retainerStart[count]!);
  const named = new Set(['context', 'property', 'internal', 'shortcut']);
  e = 0;
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < edgeCount[i]!; k++, e += ef) {
      const t = raw.edges[e + eType]!;
      if (t === weak) continue;
      const to = raw.edges[e + eTo]! / nf;
      const slot = fill[to]!++;
      retainerNode[slot] = i;
      const n = raw.edges[e + eName]!;
      const label = named.has(edgeTypeOf[t]!) ? raw.strings[n]! : '[]';
      retainerEdge[slot] = /^\d+$/.test(label) ? '[]' : label;
    }
  }
  const strings = raw.strings;
  return {
    count,
    typeOf,
    nameOf: (i) => strings[name[i]!]!,
    type,
    name,
    id,
    selfSize,
    retainerStart,
    retainerNode,
    retainerEdge,
  };
}

/** Constructor-ish key of a node: its type, and its name for objects/closures/natives. */
function keyOf(s: Parsed, i: number): string {
  const t = s.typeOf[s.type[i]!]!;
  if (t === 'object' || t === 'closure' || t === 'native' || t === 'hidden' || t === 'object shape') return `${t}:${s.nameOf(i).slice(0, 80)}`;
  return t;
}

/** The chain of first retainers from node i upwards (up to `hops`), as `edge<Owner` steps. */
function chainOf(s: Parsed, i: number, hops = 6): string {
  const steps: string[] = [];
  const seen = new Set<number>([i]);
  let at = i;
  for (let h = 0; h < hops; h++) {
    let next = -1;
    let edge = '';
    for (let k = s.retainerStart[at]!; k < s.retainerStart[at + 1]!; k++) {
      const p = s.retainerNode[k]!;
      if (seen.has(p) || s.typeOf[s.type[p]!] === 'synthetic') continue;
      next = p;
      edge = s.retainerEdge[k]!;
      break;
    }
    if (next < 0) break;
    steps.push(`${edge.slice(0, 40)} < ${keyOf(s, next)}`);
    seen.add(next);
    at = next;
  }
  return steps.join(' . ');
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    retainers: { type: 'string', default: '5' },
    'min-count': { type: 'string', default: '50' },
  },
});
if (positionals.length !== 2) {
  console.error('usage: heap-diff A.heapsnapshot B.heapsnapshot [--top N] [--retainers N] [--min-count N]');
  process.exit(2);
}
const top = Number(values.top);
const topRetainers = Number(values.retainers);
const minCount = Number(values['min-count']);

const a = parse(positionals[0]!);
const b = parse(positionals[1]!);

interface Row {
  key: string;
  countA: number;
  countB: number;
  sizeA: number;
  sizeB: number;
  newCount: number;
  newSize: number;
  newNodes: number[];
}
const rows = new Map<string, Row>();
const row = (key: string): Row => {
  let r = rows.get(key);
  if (!r) rows.set(key, (r = { key, countA: 0, countB: 0, sizeA: 0, sizeB: 0, newCount: 0, newSize: 0, newNodes: [] }));
  return r;
};
const idsA = new Set<number>();
for (let i = 0; i < a.count; i++) {
  idsA.add(a.id[i]!);
  const r = row(keyOf(a, i));
  r.countA++;
  r.sizeA += a.selfSize[i]!;
}
for (let i = 0; i < b.count; i++) {
  const r = row(keyOf(b, i));
  r.countB++;
  r.sizeB += b.selfSize[i]!;
  if (!idsA.has(b.id[i]!)) {
    r.newCount++;
    r.newSize += b.selfSize[i]!;
    if (r.newNodes.length < 20_000) r.newNodes.push(i);
  }
}

const total = (s: Parsed) => s.selfSize.reduce((x, y) => x + y, 0);
const kb = (x: number) => Math.round(x / 1024);
console.log(`A: ${a.count} nodes, ${kb(total(a))} KB; B: ${b.count} nodes, ${kb(total(b))} KB; change ${kb(total(b) - total(a))} KB`);
const sorted = [...rows.values()].filter((r) => Math.abs(r.countB - r.countA) >= minCount || Math.abs(r.sizeB - r.sizeA) > 64 * 1024);
sorted.sort((x, y) => y.sizeB - y.sizeA - (x.sizeB - x.sizeA));
console.log('\nconstructor | count A → B (Δ) | self KB A → B (Δ) | new in B (count, KB)');
for (const r of sorted.slice(0, top)) {
  console.log(
    `${r.key} | ${r.countA} → ${r.countB} (${r.countB - r.countA >= 0 ? '+' : ''}${r.countB - r.countA}) | ${kb(r.sizeA)} → ${kb(r.sizeB)} (${kb(r.sizeB - r.sizeA)}) | ${r.newCount}, ${kb(r.newSize)}`,
  );
}

console.log('\nwho holds the new objects of the most-grown constructors (retainer constructor . edge: count)');
for (const r of sorted.slice(0, top)) {
  if (r.countB - r.countA < minCount) continue;
  const by = new Map<string, number>();
  for (const i of r.newNodes) {
    for (let k = b.retainerStart[i]!; k < b.retainerStart[i + 1]!; k++) {
      const p = b.retainerNode[k]!;
      const key = `${keyOf(b, p)} . ${b.retainerEdge[k]!.slice(0, 60)}`;
      by.set(key, (by.get(key) ?? 0) + 1);
    }
  }
  const list = [...by.entries()].sort((x, y) => y[1] - x[1]).slice(0, topRetainers);
  console.log(`- ${r.key} (+${r.countB - r.countA}; sampled ${r.newNodes.length} new)`);
  for (const [k, n] of list) console.log(`    ${k}: ${n}`);
  const chains = new Map<string, number>();
  for (const i of r.newNodes) {
    const key = chainOf(b, i);
    chains.set(key, (chains.get(key) ?? 0) + 1);
  }
  console.log('  first-retainer chains:');
  for (const [k, n] of [...chains.entries()].sort((x, y) => y[1] - x[1]).slice(0, topRetainers)) console.log(`    ${n}: ${k}`);
}
