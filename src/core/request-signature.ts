/**
 * Kalshi's request-signature protocol, shared by the client (adapters/kalshi/auth.ts signs) and
 * the embedded exchange (sim/server/keys.ts verifies). The message is `timestamp_ms + METHOD +
 * path-without-query`; the signature, base64, is made with the API key's type (kalshi-api.md:
 * `ApiKeyType` = `rsa` | `ed25519`, spec 3.31): RSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte
 * salt, or Ed25519 (pure, over the message itself). Pure computation (node:crypto).
 */
import { constants, sign, verify, type KeyObject } from 'node:crypto';

/** The path Kalshi expects to be signed on the WebSocket upgrade request. */
export const WS_SIGN_PATH = '/trade-api/ws/v2';

/** Digest length of SHA-256; Kalshi's reference signer uses PSS.DIGEST_LENGTH. */
const PSS_SALT_LENGTH = 32;

/** The key types Kalshi accepts for API keys. */
export type ApiKeyType = 'rsa' | 'ed25519';

export const API_KEY_TYPES: readonly ApiKeyType[] = ['rsa', 'ed25519'];

/** The API-key type of a (public or private) key, or null when Kalshi would not accept it. */
export function apiKeyTypeOf(key: KeyObject): ApiKeyType | null {
  const type = key.asymmetricKeyType;
  return type === 'rsa' || type === 'ed25519' ? type : null;
}

/** Path part that Kalshi signs: everything before `?` or `#`. */
function signedPath(path: string): string {
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

function signatureMessage(timestamp: string, method: string, path: string): Buffer {
  return Buffer.from(timestamp + method.toUpperCase() + signedPath(path), 'utf8');
}

/** The base64 signature of one request, with the key's own algorithm. */
export function signatureOf(privateKey: KeyObject, method: string, path: string, timestamp: string): string {
  const message = signatureMessage(timestamp, method, path);
  switch (apiKeyTypeOf(privateKey)) {
    case 'ed25519':
      return sign(null, message, privateKey).toString('base64');
    case 'rsa':
      return sign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH }).toString('base64');
    default:
      throw new Error(`cannot sign with a ${privateKey.asymmetricKeyType ?? 'non-asymmetric'} key: Kalshi API keys are RSA or Ed25519`);
  }
}

/** Checks a request's signature headers the way Kalshi does. Any malformed input is simply `false`. */
export function verifyRequestSignature(
  publicKey: KeyObject,
  method: string,
  path: string,
  timestampMs: string,
  signatureB64: string,
): boolean {
  if (!/^\d+$/.test(timestampMs)) return false;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64)) return false;
  const message = signatureMessage(timestampMs, method, path);
  const signature = Buffer.from(signatureB64, 'base64');
  try {
    switch (apiKeyTypeOf(publicKey)) {
      case 'ed25519':
        return verify(null, message, publicKey, signature);
      case 'rsa':
        return verify('sha256', message, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH }, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}
