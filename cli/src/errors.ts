/** The exit codes of every command (documented in `tfstate-ops --help` and docs/on-call.md). */
export enum ExitCode {
  /** Done; for `digest`, the digest matches the state. */
  OK = 0,
  /** Failed: AWS refused or could not be reached, or something unexpected happened. */
  FAILURE = 1,
  /** Wrong command line or backend configuration: nothing was done. */
  USAGE = 2,
  /**
   * Refused for safety, nothing changed: a lock ID that does not match, a lock held by
   * someone else, a version of another lineage, a state changed during the operation.
   */
  REFUSED = 3,
  /** Not found: bucket, table, state object, version, lock or discovery parameter. */
  NOT_FOUND = 4,
  /** `digest` only: the digest item and the state object disagree (or the state is missing). */
  MISMATCH = 5,
}

/** An error that ends the command with a message for the user and an exit code. */
export class CliError extends Error {
  constructor(message: string, public readonly exitCode: ExitCode, public readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.USAGE);
}
