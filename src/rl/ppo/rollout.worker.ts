/**
 * Worker-thread entry of a rollout shard (spawned by the trainer with
 * `new Worker(new URL('./rollout.worker.ts', import.meta.url), { execArgv: ['--import', 'tsx'] })`).
 * The trainer sends one request at a time and waits for its answer; gradients are transferred,
 * not copied.
 */
import { parentPort } from 'node:worker_threads';
import { RolloutShard } from './rollout.ts';
import type { ShardRequest, ShardResponse } from './shard-client.ts';

if (!parentPort) throw new Error('rollout.worker.ts must run in a worker thread');
const port = parentPort;
let shard: RolloutShard | null = null;

function reply(message: ShardResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

port.on('message', (request: ShardRequest) => {
  void answer(request);
});

async function answer(request: ShardRequest): Promise<void> {
  try {
    switch (request.type) {
      case 'init':
        shard = new RolloutShard(request.config);
        reply({ type: 'ready', id: request.id });
        break;
      case 'collect': {
        if (!shard) throw new Error('shard not initialized');
        reply({ type: 'collected', id: request.id, stats: shard.collect(request.params) });
        break;
      }
      case 'gradient': {
        if (!shard) throw new Error('shard not initialized');
        const result = await shard.gradient(request.params, request.epoch, request.minibatch, request.minibatches, request.coef);
        reply({ type: 'gradient', id: request.id, result }, [result.grad.buffer as ArrayBuffer]);
        break;
      }
    }
  } catch (error) {
    reply({ type: 'error', id: request.id, message: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) });
  }
}
