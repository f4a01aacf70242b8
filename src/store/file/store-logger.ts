/** Where the file store reports what it found on disk (dropped tails, compaction). */
export interface StoreLogger {
  info(message: string): void;
  warn(message: string): void;
}

export const consoleStoreLogger: StoreLogger = {
  info: () => {},
  warn: (message) => console.warn(message),
};
