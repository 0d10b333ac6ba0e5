/**
 * Reading an HTTP body with a byte bound: the declared Content-Length is checked first, then the
 * bytes actually streamed, so a huge or endless body cannot exhaust memory (the rest is never
 * downloaded). For requests (the simulator's APIs) and responses (the Kalshi REST client) alike.
 * Part of src/adapters.
 */

export type BoundedText = { ok: true; text: string } | { ok: false };

/** The body as UTF-8 text, or `{ ok: false }` once it is longer than `maxBytes`. */
export async function readBoundedText(message: Request | Response, maxBytes: number): Promise<BoundedText> {
  const declared = message.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await message.body?.cancel().catch(() => undefined);
    return { ok: false };
  }
  if (!message.body) return { ok: true, text: '' };
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return { ok: false };
    }
    chunks.push(value);
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
}
