/**
 * The simulator's API-key registry and request authentication (kalshi-api.md §2): each key id
 * maps to a public key and to a user (an account in the exchange). REST and the WebSocket upgrade
 * both verify KALSHI-ACCESS-KEY / -TIMESTAMP / -SIGNATURE here, with the signature check from
 * src/core/request-signature.ts and the timestamp judged on the exchange clock.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { apiKeyTypeOf, verifyRequestSignature } from '../../core/request-signature.ts';
import type { Clock } from '../../core/clock.ts';

/** How far a request's timestamp may be from the exchange clock. Kalshi's window is undocumented. */
export const MAX_TIMESTAMP_SKEW_MS = 60_000;

export interface RegisteredKey {
  keyId: string;
  userId: string;
  publicKey: KeyObject;
}

export type AuthOutcome = { ok: true; userId: string; keyId: string } | { ok: false; message: string };

export interface SignedHeaders {
  key: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export class KeyRegistrationError extends Error {
  override readonly name: string = 'KeyRegistrationError';
}

/** The key id is taken by a different key (or user): registering never replaces a key. */
export class KeyConflictError extends KeyRegistrationError {
  override readonly name = 'KeyConflictError';
}

export class ApiKeyRegistry {
  private readonly keys = new Map<string, RegisteredKey>();

  constructor(private readonly clock: Clock) {}

  /**
   * Registers a key. The user id defaults to the key id. Registering the same key for the same
   * user again is a no-op; a different key or user under a registered id throws KeyConflictError
   * (whoever can reach the registry must not take over someone's key id). Throws
   * KeyRegistrationError for an unusable PEM; messages never contain key material.
   */
  register(keyId: string, publicKeyPem: string, userId?: string): RegisteredKey {
    if (!/^[\w.:-]{1,128}$/.test(keyId)) throw new KeyRegistrationError('key id must be 1-128 letters, digits, dots, colons, dashes or underscores');
    let publicKey: KeyObject;
    try {
      // createPublicKey also accepts a private PEM and derives its public half; that is fine here
      publicKey = createPublicKey({ key: publicKeyPem, format: 'pem' });
    } catch {
      throw new KeyRegistrationError(`public key for ${keyId} is not a PEM-encoded public key`);
    }
    if (apiKeyTypeOf(publicKey) === null) throw new KeyRegistrationError(`public key for ${keyId} is neither an RSA nor an Ed25519 key`);
    const existing = this.keys.get(keyId);
    if (existing) {
      if (existing.publicKey.equals(publicKey) && existing.userId === (userId ?? keyId)) return existing;
      throw new KeyConflictError(`key id ${keyId} is already registered`);
    }
    const entry = { keyId, userId: userId ?? keyId, publicKey };
    this.keys.set(keyId, entry);
    return entry;
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  list(): Array<{ keyId: string; userId: string }> {
    return [...this.keys.values()].map(({ keyId, userId }) => ({ keyId, userId }));
  }

  /** Checks the three signature headers for `method` + `path` (the query is never signed). */
  authenticate(headers: SignedHeaders, method: string, path: string): AuthOutcome {
    const { key, timestamp, signature } = headers;
    if (!key || !timestamp || !signature) {
      return { ok: false, message: 'missing KALSHI-ACCESS-KEY, KALSHI-ACCESS-TIMESTAMP or KALSHI-ACCESS-SIGNATURE header' };
    }
    const entry = this.keys.get(key);
    if (!entry) return { ok: false, message: 'unknown API key' };
    if (!/^\d{1,16}$/.test(timestamp)) return { ok: false, message: 'KALSHI-ACCESS-TIMESTAMP must be Unix milliseconds' };
    if (Math.abs(Number(timestamp) - this.clock.now()) > MAX_TIMESTAMP_SKEW_MS) {
      return { ok: false, message: 'KALSHI-ACCESS-TIMESTAMP is too far from the exchange clock' };
    }
    if (!verifyRequestSignature(entry.publicKey, method, path, timestamp, signature)) {
      return { ok: false, message: 'invalid signature' };
    }
    return { ok: true, userId: entry.userId, keyId: entry.keyId };
  }
}

/** Reads the signature headers from a Node or Fetch-style header source. */
export function signedHeadersFrom(get: (name: string) => string | string[] | null | undefined): SignedHeaders {
  const one = (name: string): string | undefined => {
    const v = get(name);
    return Array.isArray(v) ? v[0] : (v ?? undefined);
  };
  return {
    key: one('kalshi-access-key'),
    timestamp: one('kalshi-access-timestamp'),
    signature: one('kalshi-access-signature'),
  };
}
