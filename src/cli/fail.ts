/** A failure the user can act on: printed as one line, no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** exit codes: 1 failed, 2 bad settings, 3 not running (LSB's status code) */
export const EXIT_FAILED = 1;
export const EXIT_BAD_SETTINGS = 2;
export const EXIT_NOT_RUNNING = 3;

export function printError(message: string): void {
  process.stderr.write(`localmq: ${message}\n`);
}
