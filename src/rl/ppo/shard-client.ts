/**
 * Uniform access to rollout shards, in-process or in worker threads: the trainer talks to a
 * `ShardClient` and does not care where the shard runs.
 */
import { Worker } from 'node:worker_threads';
import { RolloutShard } from './rollout.ts';
import type { CollectStats, GradientResult, ShardConfig } from './rollout.ts';
import type { PpoCoefficients } from './loss.ts';

export type ShardRequest =
  | { type: 'init'; id: number; config: ShardConfig }
  | { type: 'collect'; id: number; params: Float32Array }
  | { type: 'gradient'; id: number; params: Float32Array; epoch: number; minibatch: number; minibatches: number; coef: PpoCoefficients };

export type ShardResponse =
  | { type: 'ready'; id: number }
  | { type: 'collected'; id: number; stats: CollectStats }
  | { type: 'gradient'; id: number; result: GradientResult }
  | { type: 'error'; id: number; message: string };

export interface ShardClient {
  collect(params: Float32Array): Promise<CollectStats>;
  gradient(params: Float32Array, epoch: number, minibatch: number, minibatches: number, coef: PpoCoefficients): Promise<GradientResult>;
  close(): Promise<void>;
}

export class LocalShardClient implements ShardClient {
  private readonly shard: RolloutShard;

  constructor(config: ShardConfig) {
    this.shard = new RolloutShard(config);
  }

  async collect(params: Float32Array): Promise<CollectStats> {
    return this.shard.collect(params);
  }

  async gradient(params: Float32Array, epoch: number, minibatch: number, minibatches: number, coef: PpoCoefficients): Promise<GradientResult> {
    return this.shard.gradient(params, epoch, minibatch, minibatches, coef);
  }

  async close(): Promise<void> {
    await this.shard.close();
  }
}

/**
 * Starts a TypeScript worker file. `new Worker(url, { execArgv: ['--import', 'tsx'] })` fails on
 * Node 20.20 ("Unknown file extension .ts": the entry is loaded before the `--import` hooks
 * apply), so a small ESM bootstrap beside this file registers tsx in the worker and then imports
 * the .ts file. Works the same under tsx, vitest and plain node.
 */
export function startTsWorker(file: URL, workerData: Record<string, unknown> = {}): Worker {
  // the compiled command (dist/, scripts/build-cli.mjs) ships the worker as plain JavaScript
  if (file.pathname.endsWith('.js')) return new Worker(file, { workerData });
  return new Worker(new URL('./ts-worker-bootstrap.mjs', import.meta.url), {
    workerData: { ...workerData, tsWorkerFile: file.href },
  });
}

export class ShardWorkerError extends Error {
  override readonly name = 'ShardWorkerError';
}

/** A shard in a worker thread (the worker file runs under tsx). */
export class WorkerShardClient implements ShardClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ShardResponse) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (response: ShardResponse) => {
      const waiter = this.pending.get(response.id);
      if (!waiter) return;
      this.pending.delete(response.id);
      if (response.type === 'error') waiter.reject(new ShardWorkerError(`rollout worker: ${response.message}`));
      else waiter.resolve(response);
    });
    const failAll = (error: Error) => {
      this.failure = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => failAll(new ShardWorkerError(`rollout worker crashed: ${error.message}`)));
    worker.on('exit', (code) => {
      if (this.pending.size > 0) failAll(new ShardWorkerError(`rollout worker exited with code ${code}`));
    });
  }

  static async start(config: ShardConfig): Promise<WorkerShardClient> {
    // beside this module: rollout.worker.ts in src/, rollout.worker.js in the compiled bundle
    const compiled = import.meta.url.endsWith('.js');
    const worker = startTsWorker(new URL(compiled ? './rollout.worker.js' : './rollout.worker.ts', import.meta.url));
    const client = new WorkerShardClient(worker);
    try {
      await client.request({ type: 'init', id: 0, config });
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return client;
  }

  private request(message: ShardRequest): Promise<ShardResponse> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const withId = { ...message, id } as ShardRequest;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(withId);
    });
  }

  async collect(params: Float32Array): Promise<CollectStats> {
    const response = await this.request({ type: 'collect', id: 0, params });
    if (response.type !== 'collected') throw new ShardWorkerError(`unexpected reply ${response.type}`);
    return response.stats;
  }

  async gradient(params: Float32Array, epoch: number, minibatch: number, minibatches: number, coef: PpoCoefficients): Promise<GradientResult> {
    const response = await this.request({ type: 'gradient', id: 0, params, epoch, minibatch, minibatches, coef });
    if (response.type !== 'gradient') throw new ShardWorkerError(`unexpected reply ${response.type}`);
    return response.result;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
