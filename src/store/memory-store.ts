import { emptyRecoveredState, type RecoveredState, type Store } from './store.js';

/** The store of a test broker: keeps nothing, so nothing touches the disk. */
export class MemoryStore implements Store {
  readonly durable = false;
  async open(): Promise<RecoveredState> {
    return emptyRecoveredState();
  }
  putVhost(): void {}
  deleteVhost(): void {}
  putUser(): void {}
  deleteUser(): void {}
  putPermission(): void {}
  deletePermission(): void {}
  putExchange(): void {}
  deleteExchange(): void {}
  putQueue(): void {}
  deleteQueue(): void {}
  putBinding(): void {}
  deleteBinding(): void {}
  putPolicy(): void {}
  deletePolicy(): void {}
  putRecord(): void {}
  addMessage(): void {}
  removeMessage(): void {}
  markDelivered(): void {}
  sync(cb: (err?: Error) => void): void {
    cb();
  }
  onError(): void {}
  async close(): Promise<void> {}
}
