// Worker-thread entry that loads a TypeScript worker file: registers tsx's ESM loader in this
// thread, then imports `workerData.tsWorkerFile`. (Node 20.20 does not apply `execArgv:
// ['--import', 'tsx']` before a worker's entry module is loaded, so the .ts entry would fail.)
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.tsWorkerFile);
