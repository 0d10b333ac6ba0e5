/** Errors the CLI reports as one line with exit code 2 (the user's input was wrong). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A flag-parsing error as the CLI reports it: node's message (first line only) and a pointer to --help. */
export function flagUsageError(error: unknown): UsageError {
  // node's parseArgs messages may run over several lines; the CLI promises one
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  return new UsageError(`${message} (see --help)`);
}
