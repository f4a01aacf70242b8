// The slice of stompit's API the STOMP tests use (the package ships no types).
declare module 'stompit' {
  import type { Readable, Writable } from 'node:stream';
  import type { EventEmitter } from 'node:events';

  export type Headers = Record<string, string | number>;

  export interface IncomingMessage extends Readable {
    headers: Record<string, string>;
    readString(encoding: string, callback: (err: Error | null, body?: string) => void): void;
  }

  export interface Subscription {
    getId(): string;
    unsubscribe(headers?: Headers): void;
  }

  export interface Transaction {
    send(headers: Headers): Writable;
    commit(): void;
    abort(): void;
  }

  export interface SendOptions {
    onReceipt?: () => void;
    onError?: (err: Error) => void;
  }

  export interface Client extends EventEmitter {
    headers: Record<string, string>;
    send(headers: Headers, options?: SendOptions): Writable;
    subscribe(headers: Headers, listener: (err: Error | null, message: IncomingMessage) => void): Subscription;
    ack(message: IncomingMessage, headers?: Headers, options?: SendOptions, callback?: (err?: Error) => void): void;
    nack(message: IncomingMessage, headers?: Headers, options?: SendOptions, callback?: (err?: Error) => void): void;
    begin(headers?: Headers | string): Transaction;
    disconnect(callback?: (err: Error | null) => void): void;
    destroy(err?: Error): void;
  }

  export interface ConnectOptions {
    host?: string;
    port?: number;
    timeout?: number;
    connectHeaders?: Headers;
  }

  export function connect(options: ConnectOptions, callback: (err: Error | null, client: Client) => void): Client;
}
