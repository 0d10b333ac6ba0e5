/** Errors the CLI reports as one line with exit code 2 (the user's input was wrong). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
