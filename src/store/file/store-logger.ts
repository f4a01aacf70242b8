/** Where the file store reports what it found on disk (dropped tails, compaction) and write failures. */
export interface StoreLogger {
  info(message: string): void;
  warn(message: string): void;
  /** a failure the operator must act on (a full disk); falls back to warn when absent */
  error?(message: string): void;
}

export const consoleStoreLogger: StoreLogger = {
  info: () => {},
  warn: (message) => console.warn(message),
  error: (message) => console.error(message),
};
