/**
 * A web page in the user's browser cannot drive the simulator's /_sim/ control API: no
 * text/plain or form POSTs, no rebound Host, no foreign Origin, and no taking over a registered
 * key id. Real HTTP on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/adapters/kalshi/auth.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { startHarness, testKeyPair, type Harness } from './server.helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const control = (path: string) => `${h.sim.controlUrl}${path}`;
const json = { 'Content-Type': 'application/json' };

describe('/_sim/ control API', () => {
  it('refuses POSTs that are not application/json (what a cross-site form or text/plain fetch sends)', async () => {
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const reply = await rawRequest(control('/faults/latency'), { method: 'POST', headers: { 'Content-Type': type }, body: JSON.stringify({ ms: 500, durationMs: 60_000 }) });
      expect(reply.status, type).toBe(415);
    }
    // no content type at all, and bodiless switches too
    expect((await rawRequest(control('/faults/ws/drop'), { method: 'POST' })).status).toBe(415);
    expect((await rawRequest(control('/faults/ws/drop'), { method: 'POST', headers: { 'Content-Type': 'text/plain' } })).status).toBe(415);
    expect((await h.control('/state')).json.faults.latency).toBeNull();
    const ok = await rawRequest(control('/faults/latency'), { method: 'POST', headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify({ ms: 5, durationMs: 1_000 }) });
    expect(ok.status).toBe(200);
    await h.control('/faults/clear', {});
  });

  it('refuses a rebound Host and a foreign Origin', async () => {
    const evil = `evil.example:${h.sim.port}`;
    const body = JSON.stringify({ ms: 500, durationMs: 60_000 });
    const rebound = await rawRequest(control('/faults/latency'), { method: 'POST', headers: { ...json, Host: evil, Origin: `http://${evil}` }, body });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.text)).toMatchObject({ error: { code: 'forbidden' } });
    expect((await rawRequest(control('/state'), { headers: { Host: evil } })).status).toBe(403);
    const crossSite = await rawRequest(control('/faults/latency'), { method: 'POST', headers: { ...json, Origin: 'http://evil.example' }, body });
    expect(crossSite.status).toBe(403);
    expect((await h.control('/state')).json.faults.latency).toBeNull();
    expect((await rawRequest(control('/state'), { headers: { Host: `localhost:${h.sim.port}` } })).status).toBe(200);
  });

  it('never replaces a registered key', async () => {
    const intruder = generateKeyPair();
    const takeover = await h.control('/keys', { keyId: h.keyId, publicKeyPem: intruder.publicKeyPem, userId: 'mallory' });
    expect(takeover.status).toBe(409);
    expect(takeover.json).toMatchObject({ error: { code: 'key_already_registered' } });
    // another user for the same key is a takeover too
    expect((await h.control('/keys', { keyId: h.keyId, publicKeyPem: testKeyPair().publicKeyPem, userId: 'mallory' })).status).toBe(409);
    // the owner's signed requests still work
    expect((await h.rest('GET', '/portfolio/balance')).status).toBe(200);
    expect((await h.control('/state')).json.keys).toEqual([{ keyId: h.keyId, userId: 'alice' }]);
    // the same registration again is harmless
    expect((await h.control('/keys', { keyId: h.keyId, publicKeyPem: testKeyPair().publicKeyPem, userId: 'alice' })).status).toBe(201);
    // and a new key id registers
    expect((await h.control('/keys', { keyId: 'second-key', publicKeyPem: intruder.publicKeyPem })).status).toBe(201);
  });
});
