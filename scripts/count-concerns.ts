/**
 * Counts the code lines (no comments, no blank lines) of the trader's five concerns — issue 11's
 * target is under 2,000 for the five together. A line counts when it holds a token of the parsed
 * source (JSDoc and other comments are trivia, not tokens); multi-line strings and templates count
 * every line they span.
 *
 *   node --import tsx scripts/count-concerns.ts          # a line per file, a total per concern
 *   node --import tsx scripts/count-concerns.ts --json   # one JSON line {concern: lines, total}
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Which files make which concern (paths from the repository root; `*` matches within a file name,
 * so a concern that splits a file keeps counting both halves).
 */
export const CONCERNS: Record<string, readonly string[]> = {
  // An order's life: its chart, its events and types, the venue calls it makes, the ledger it writes.
  'order service': [
    'src/machines/order.*.ts',
    'src/actors/order.*.ts',
    'src/actors/order-journal.ts',
    'src/actors/venue.ts',
    'src/core/order-state.ts',
  ],
  // Positions, cash and P&L from fills.
  'position tracking': ['src/core/positions.ts'],
  // Reading the venue and reconciling it with the journal and the trader.
  'state sync': ['src/actors/sync.ts', 'src/core/reconcile.ts'],
  // The status log behind the console and /v3/status/log.
  'status log': ['src/machines/status-history.ts'],
  // The supervising chart, its types and status helpers, and its invoked actors.
  coordinator: ['src/machines/coordinator.*.ts', 'src/actors/coordinator.*.ts'],
};

/** Code lines of one TypeScript source text. */
export function codeLines(text: string, fileName = 'file.ts'): number {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = new Set<number>();
  const visit = (node: ts.Node): void => {
    if (node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode) return;
    const children = node.getChildren(source);
    if (children.length === 0) {
      if (node.kind === ts.SyntaxKind.EndOfFileToken) return;
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(Math.max(node.getStart(source), node.getEnd() - 1)).line;
      for (let line = first; line <= last; line++) lines.add(line);
      return;
    }
    for (const child of children) visit(child);
  };
  visit(source);
  return lines.size;
}

/** The files a concern's patterns name, sorted. */
export function concernFiles(root: string, patterns: readonly string[]): string[] {
  const files = new Set<string>();
  for (const pattern of patterns) {
    const slash = pattern.lastIndexOf('/');
    const dir = pattern.slice(0, slash);
    const name = new RegExp(`^${pattern.slice(slash + 1).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    let entries: string[];
    try {
      entries = readdirSync(root + dir);
    } catch {
      continue;
    }
    for (const entry of entries) if (name.test(entry)) files.add(`${dir}/${entry}`);
  }
  return [...files].sort();
}

function main(args: readonly string[]): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const totals: Record<string, number> = {};
  let total = 0;
  for (const [concern, files] of Object.entries(CONCERNS)) {
    let sum = 0;
    for (const file of concernFiles(root, files)) {
      const n = codeLines(readFileSync(root + file, 'utf8'), file);
      sum += n;
      if (!args.includes('--json')) console.log(`  ${String(n).padStart(5)}  ${file}`);
    }
    totals[concern] = sum;
    total += sum;
    if (!args.includes('--json')) console.log(`${String(sum).padStart(7)}  ${concern}`);
  }
  if (args.includes('--json')) console.log(JSON.stringify({ ...totals, total }));
  else console.log(`${String(total).padStart(7)}  total (goal < 2,000)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
