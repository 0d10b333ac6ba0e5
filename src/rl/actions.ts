/** The action space lives in core (shared with the live policy strategy); re-exported for src/rl. */
export * from '../core/features/actions.ts';
