/**
 * What counts as a secret, in one place: which names hold one (a context key, a header, an
 * environment variable) and how a password inside a URL is masked. Pure string rules, used by
 * the operator surfaces' redaction (src/server/redact.ts), config error messages (src/cli) and
 * the store's printable database URL.
 */

/**
 * Name fragments that mark a secret, matched as substrings of the name lower-cased without `_`,
 * `-` and `.`: `KALSHI-ACCESS-SIGNATURE`, `apiKey`, `accessToken`, `DB_PASSWORD`, `privateKeyPem`.
 */
const SECRET_NAME_PARTS = ['privatekey', 'secret', 'password', 'passwd', 'passphrase', 'token', 'authorization', 'signature', 'apikey', 'credential', 'cookie'];

/** Names that are secrets only as a whole word (as fragments they would hit harmless names). */
const SECRET_NAMES = new Set(['pem', 'auth', 'pwd']);

export function isSecretName(name: string): boolean {
  const n = name.toLowerCase().replace(/[_\-.\s]/g, '');
  return SECRET_NAMES.has(n) || SECRET_NAME_PARTS.some((part) => n.includes(part));
}

export const MASK = '***';

/** postgres://user:secret@host/db → postgres://user:***@host/db, also for strings that are not valid URLs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) {
      u.password = MASK;
      return u.toString();
    }
    if (!url.includes('@')) return url;
  } catch {
    // not a URL: mask by shape below
  }
  // everything between the user's `:` and the last `@` of the authority, `@`s in the password
  // too; `user:password@host` without a scheme as well
  return url.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?[^:/@\s]*):[^/\s]*@/i, `$1:${MASK}@`);
}

/** Masks the password of every `scheme://user:password@` inside free text (error messages, logs). */
export function redactUrlPasswords(text: string): string {
  return text.includes('@') ? text.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^\s/]*@/gi, `$1:${MASK}@`) : text;
}
