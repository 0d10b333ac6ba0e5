/**
 * Request signing, per kind of API key: signatures per second on one core for the REST create
 * path (`timestamp + POST + /trade-api/v2/portfolio/events/orders`), RSA-2048 PSS vs Ed25519 —
 * the figure behind using Ed25519 keys for the simulator's sessions (issue: sessions at backtest
 * speed). Verification (the simulator's half) is printed too.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { opsPerSecond, report } from './harness.ts';
import { generateKeyPair } from '../src/adapters/kalshi/auth.ts';
import { signatureOf, verifyRequestSignature, type ApiKeyType } from '../src/core/request-signature.ts';

const PATH = '/trade-api/v2/portfolio/events/orders';

for (const type of ['rsa', 'ed25519'] as ApiKeyType[]) {
  const pair = generateKeyPair(type);
  const privateKey = createPrivateKey(pair.privateKeyPem);
  const publicKey = createPublicKey(pair.publicKeyPem);
  let ts = 1_795_000_000_000;
  const signs = opsPerSecond(() => {
    signatureOf(privateKey, 'POST', PATH, String(ts++));
    return 1;
  });
  report({ bench: 'signing', metric: `${type}_signatures_per_s`, value: Math.round(signs), unit: 'signatures/s' });
  const signature = signatureOf(privateKey, 'POST', PATH, '1795000000000');
  const verifies = opsPerSecond(() => (verifyRequestSignature(publicKey, 'POST', PATH, '1795000000000', signature) ? 1 : 0));
  report({ bench: 'signing', metric: `${type}_verifications_per_s`, value: Math.round(verifies), unit: 'verifications/s' });
}
