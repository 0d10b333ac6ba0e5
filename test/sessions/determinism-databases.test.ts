/**
 * Determinism across databases: the spread-quoter case of bench/session-speed (fewer markets and
 * minutes) gives the same orders, fills and P&L on the embedded PGlite and on PostgreSQL — the
 * journal commits in groups, and how writes fall into batches depends on timing, never what the
 * run does. Also: the session signs with the Ed25519 key it made in its data folder. The
 * PostgreSQL half needs TEST_DATABASE_URL (CI sets it); without it, two PGlite runs are compared.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { orderFillLog } from '../../src/sessions/report.ts';
import { runSession } from '../../src/sessions/runner.ts';
import type { SessionOutcome } from '../../src/sessions/runner.ts';
import { parseScenario } from '../../src/sessions/scenario.ts';
import { SessionStore } from '../../src/sessions/store.ts';
import { createServerDatabase } from '../helpers/databases.ts';

const SPREAD_QUOTER = `
name: determinism-databases
seed: 12345
duration: 2m
drain: 10s
exchange:
  markets: [{ count: 3 }]
trader:
  strategy: spread-quoter
expect:
  no_duplicate_orders: true
  fills_recorded_once: true
  positions_match_exchange: true
`;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function runOn(databaseUrl: string | null): Promise<{ outcome: SessionOutcome; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kf-det-db-'));
  dirs.push(dataDir);
  const store = await SessionStore.open(databaseUrl ? { databaseUrl } : {});
  try {
    const outcome = await runSession(parseScenario(SPREAD_QUOTER, 'determinism-databases.yaml'), { store, dataDir });
    return { outcome, dataDir };
  } finally {
    await store.close();
  }
}

describe('spread-quoter session on both databases', () => {
  it(
    'same seed → same orders, fills and P&L on PGlite and PostgreSQL; signed with an Ed25519 key',
    async () => {
      const serverUrl = process.env.TEST_DATABASE_URL;
      const server = serverUrl ? await createServerDatabase(serverUrl, 'kf_det') : null;
      try {
        const pglite = await runOn(null);
        const other = await runOn(server ? server.url : null);
        for (const run of [pglite, other]) {
          expect(run.outcome.failures).toEqual([]);
          expect(run.outcome.status).toBe('passed');
        }
        const a = orderFillLog(pglite.outcome.report);
        const b = orderFillLog(other.outcome.report);
        expect(a.orders.length).toBeGreaterThan(20);
        expect(a.fills.length).toBeGreaterThan(0);
        expect(b).toEqual(a);
        expect(other.outcome.report.pnl?.final).toEqual(pglite.outcome.report.pnl?.final);
        const key = createPrivateKey(readFileSync(join(pglite.dataDir, 'sim-keys', 'trader.key.pem'), 'utf8'));
        expect(key.asymmetricKeyType).toBe('ed25519');
      } finally {
        await server?.drop();
      }
    },
    300_000,
  );
});
