/**
 * A recording /v3/ws client for the server tests: keeps every envelope, waits (bounded) for the
 * ones a test expects, and offers a ping/pong barrier — everything the server sent before the
 * pong has arrived when `barrier()` resolves.
 */
import { WebSocket } from 'ws';

export interface Envelope {
  type: string;
  data?: any;
  timestamp?: number;
}

export class RecordingClient {
  readonly messages: Envelope[] = [];
  readonly raw: string[] = [];
  closed = false;
  closeCode: number | null = null;
  /** WebSocket-level pings received (ws answers them itself unless autoPong is off). */
  protocolPings = 0;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      this.messages.push(JSON.parse(text) as Envelope);
      this.wake();
    });
    ws.on('ping', () => {
      this.protocolPings++;
      this.wake();
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      this.wake();
    });
    ws.on('error', () => {});
  }

  static connect(url: string, headers: Record<string, string> = {}, options: { autoPong?: boolean } = {}): Promise<RecordingClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, ...options });
      const client = new RecordingClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  of(type: string): Envelope[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Resolves when `predicate` holds; rejects after `timeoutMs`. */
  waitUntil(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const check = () => {
        if (predicate()) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      this.waiters.push(check);
    });
  }

  waitFor(type: string, count = 1, timeoutMs = 5_000): Promise<Envelope[]> {
    return this.waitUntil(() => this.of(type).length >= count, `${count} × ${type}`, timeoutMs).then(() => this.of(type));
  }

  /** Sends a ping and waits for its pong: the server's earlier messages are all in by then. */
  async barrier(): Promise<void> {
    const before = this.of('pong').length;
    this.ws.send(JSON.stringify({ type: 'ping' }));
    await this.waitUntil(() => this.of('pong').length > before, 'pong');
  }

  close(): void {
    this.ws.terminate();
  }
}
