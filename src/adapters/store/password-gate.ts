/**
 * A password in front of the embedded database. PGlite's socket server (pglite-socket 0.2.17)
 * answers every startup with AuthenticationOk: on a loopback port, any local process (or user)
 * could read and write the journal. So PGlite listens on a Unix socket in a private 0700 folder
 * (socket 0600), and the `pg` pool reaches it through this gate on 127.0.0.1: the gate asks for
 * a password (MD5 challenge, a fresh salt per connection), checks it against a random per-run
 * secret, then replays the client's startup message to PGlite and pipes the two sockets
 * together. A client without the secret gets `28P01 password authentication failed`.
 * Speaks just enough of the PostgreSQL wire protocol (v3 startup, SSL/GSS negotiation refusals,
 * PasswordMessage, ErrorResponse). Part of src/adapters/store; used by database.ts only.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const MAX_STARTUP_BYTES = 10_000;
const MAX_PASSWORD_MESSAGE_BYTES = 1_024;
/** A client that has not authenticated after this long is cut off. */
const AUTH_TIMEOUT_MS = 10_000;

export interface PasswordGate {
  host: string;
  port: number;
  close(): Promise<void>;
}

export interface PasswordGateOptions {
  /** Unix socket path of the database behind the gate. */
  upstreamPath: string;
  password: string;
  /** Connections at most (beyond: refused). */
  maxConnections: number;
  host?: string;
}

function md5Hex(text: Buffer | string): string {
  return createHash('md5').update(text).digest('hex');
}

/** What a client proves it knows the password with: `md5` + md5(md5(password + user) + salt). */
function md5Answer(password: string, user: string, salt: Buffer): string {
  return `md5${md5Hex(Buffer.concat([Buffer.from(md5Hex(password + user)), salt]))}`;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function startupParameters(body: Buffer): Map<string, string> {
  const parts = body.toString('utf8').split('\0');
  const params = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) params.set(parts[i], parts[i + 1]);
  return params;
}

function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

function md5Request(salt: Buffer): Buffer {
  const msg = Buffer.alloc(13);
  msg.write('R', 0);
  msg.writeInt32BE(12, 1);
  msg.writeInt32BE(5, 5);
  salt.copy(msg, 9);
  return msg;
}

export async function startPasswordGate(options: PasswordGateOptions): Promise<PasswordGate> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();

  const handle = (client: Socket) => {
    sockets.add(client);
    client.setNoDelay(true);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const salt = randomBytes(4);
    let pending: Buffer = Buffer.alloc(0);
    let startup: Buffer | null = null;
    let user = '';
    const timer = setTimeout(() => client.destroy(), AUTH_TIMEOUT_MS);
    timer.unref();
    const refuse = (code: string, message: string) => {
      clearTimeout(timer);
      client.off('data', onData);
      client.end(errorResponse(code, message));
    };

    const admit = (rest: Buffer) => {
      clearTimeout(timer);
      client.off('data', onData);
      const upstream = connect(options.upstreamPath);
      sockets.add(upstream);
      upstream.setNoDelay?.(true);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.write(startup!);
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
    };

    const onData = (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        if (startup === null) {
          if (pending.length < 8) return;
          const length = pending.readInt32BE(0);
          if (length < 8 || length > MAX_STARTUP_BYTES) return refuse('08P01', 'invalid startup packet');
          if (pending.length < length) return;
          const code = pending.readInt32BE(4);
          const packet = pending.subarray(0, length);
          pending = pending.subarray(length);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            client.write('N');
            continue;
          }
          // cancel requests and older protocols have no password step: nothing for them here
          if (code !== PROTOCOL_3) return refuse('08P01', 'unsupported startup request');
          startup = Buffer.from(packet);
          user = startupParameters(packet.subarray(8)).get('user') ?? '';
          client.write(md5Request(salt));
          continue;
        }
        if (pending.length < 5) return;
        if (pending[0] !== 0x70 /* 'p' */) return refuse('08P01', 'expected a password message');
        const length = pending.readInt32BE(1);
        if (length < 5 || length > MAX_PASSWORD_MESSAGE_BYTES) return refuse('08P01', 'invalid password message');
        if (pending.length < 1 + length) return;
        const given = pending.subarray(5, 1 + length).toString('utf8').replace(/\0$/, '');
        const rest = pending.subarray(1 + length);
        if (!sameText(given, md5Answer(options.password, user, salt))) {
          return refuse('28P01', `password authentication failed for user "${user.slice(0, 64)}"`);
        }
        return admit(rest);
      }
    };
    client.on('data', onData);
  };

  const server = createServer(handle);
  server.maxConnections = options.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    host,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A fresh secret for one run of the embedded database (URL-safe, 32 bytes of entropy). */
export function newEmbeddedPassword(): string {
  return randomBytes(32).toString('base64url');
}
