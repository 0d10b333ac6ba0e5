/**
 * The store adapter's public surface: opening the database (server or embedded PGlite),
 * migrations, the hot-path write queue, the recorder, the trading journal, RL/session
 * bookkeeping and the session loader. Other layers import from here.
 */
export * from './database.ts';
export * from './migrate.ts';
export * from './statuses.ts';
export * from './write-queue.ts';
export * from './recorder.ts';
export * from './journal.ts';
export * from './learning.ts';
export * from './session-loader.ts';
export * from './retention.ts';
export * from './sweeps.ts';
