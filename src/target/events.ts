/**
 * A small typed event emitter. A listener that throws is logged and does not stop
 * the others, nor the decoding loop that emitted the event.
 */
import { EventEmitter } from 'events';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;
export type EventMap<E> = { [K in keyof E]: Listener };

export class TypedEmitter<E extends EventMap<E>> {
  private readonly ee = new EventEmitter();

  constructor(private readonly onListenerError: (event: string, err: unknown) => void = () => undefined) {
    this.ee.setMaxListeners(50);
  }

  on<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.ee.on(event, listener);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.ee.once(event, listener);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.ee.off(event, listener);
    return this;
  }

  /** Resolves with the first argument of the next `event`. */
  next<K extends keyof E & string>(event: K): Promise<Parameters<E[K]>[0]> {
    return new Promise((resolve) => this.ee.once(event, (arg: Parameters<E[K]>[0]) => resolve(arg)));
  }

  protected emit<K extends keyof E & string>(event: K, ...args: Parameters<E[K]>): void {
    // rawListeners: `once` wrappers remove themselves when called.
    for (const listener of this.ee.rawListeners(event) as Listener[]) {
      try {
        listener(...args);
      } catch (err) {
        this.onListenerError(event, err);
      }
    }
  }
}
