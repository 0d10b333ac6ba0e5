/**
 * Benchmarks against the real PostgreSQL server (TEST_DATABASE_URL, else the local one): each run
 * gets a throwaway database, dropped afterwards. Without a reachable server the run reports
 * `postgres.skipped` and the benchmark goes on with the embedded database.
 */
import { randomBytes } from 'node:crypto';
import { report } from './harness.ts';
import { createPool, describeDbError, redactUrl } from '../src/adapters/store/database.ts';

export const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function withServerDatabase(bench: string, work: (databaseUrl: string) => Promise<void>): Promise<void> {
  const name = `kf_bench_${randomBytes(6).toString('hex')}`;
  const admin = createPool(SERVER_URL, 1, 5_000);
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    report({ bench, metric: 'postgres.skipped', value: 0, unit: '', error: describeDbError(error), url: redactUrl(SERVER_URL) });
    await admin.end();
    return;
  }
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  try {
    await work(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}
