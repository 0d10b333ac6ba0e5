/**
 * Which database errors mean "the server is unreachable" (a journal outage: trading pauses until
 * a probe succeeds) and which mean "this query or row is wrong" (not an outage). Real errors from
 * a real pg client where the machine can make them (refused connection), pg's own shapes otherwise.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { isDatabaseUnavailable } from '../../src/adapters/store/database.ts';
import { freePort } from '../helpers/processes.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('a refused connection (nothing listens on the port) is an outage', async () => {
    const port = await freePort();
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 2_000 });
    const error = await client.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).not.toBeNull();
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('terminated sessions, connection exceptions, shutdowns and pool timeouts are outages', () => {
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('terminating connection due to administrator command', '57P01'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('the database system is starting up', '57P03'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('connection failure', '08006'))).toBe(true);
    expect(isDatabaseUnavailable(withCode('read ECONNRESET', 'ECONNRESET'))).toBe(true);
  });

  it('a bad row or a bad query is not an outage', () => {
    expect(isDatabaseUnavailable(withCode('duplicate key value violates unique constraint', '23505'))).toBe(false);
    expect(isDatabaseUnavailable(withCode('invalid input syntax for type bigint', '22P02'))).toBe(false);
    expect(isDatabaseUnavailable(withCode('relation "orders" does not exist', '42P01'))).toBe(false);
    expect(isDatabaseUnavailable(new Error('order X is not journaled'))).toBe(false);
    expect(isDatabaseUnavailable('Connection terminated')).toBe(false);
  });
});
