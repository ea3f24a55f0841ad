/**
 * The page's side of protocol.ts: `engine.call(op, request, onEvent)` posts a call to the worker and returns a job
 * whose `result` settles with the worker's answer and whose `stop()` asks the worker to stop it.
 */
import type { Events, FromWorker, Op, Requests, Results, ToWorker } from './protocol.js';

/** An error the worker reported: `user` errors are one-line messages for the page (PixelpropError, a stop). */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly user: boolean,
    readonly webgpu: boolean,
    readonly workerStack?: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export interface Job<K extends Op> {
  id: number;
  result: Promise<Results[K]>;
  stop(): void;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  onEvent?: (event: never) => void;
}

export class Engine {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(onCrash: (message: string) => void) {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'pixelprop engine' });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>) => this.receive(ev.data);
    // A worker that fails to load or throws outside a call: nothing will answer the pending calls any more.
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      const message = `the engine's worker failed: ${ev.message || 'it could not be loaded'}`;
      for (const p of this.pending.values()) p.reject(new EngineError(message, true, false));
      this.pending.clear();
      onCrash(message);
    };
  }

  call<K extends Op>(op: K, request: Requests[K], onEvent?: (event: Events[K]) => void, transfer: Transferable[] = []): Job<K> {
    const id = this.nextId++;
    const result = new Promise<Results[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, onEvent: onEvent as ((e: never) => void) | undefined });
    });
    this.post({ kind: 'call', id, op, request } as ToWorker, transfer);
    return { id, result, stop: () => this.post({ kind: 'stop', id }) };
  }

  private post(message: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  private receive(message: FromWorker): void {
    const p = this.pending.get(message.id);
    if (!p) return;
    if (message.kind === 'event') {
      p.onEvent?.(message.event as never);
      return;
    }
    this.pending.delete(message.id);
    if (message.kind === 'done') p.resolve(message.result);
    else p.reject(new EngineError(message.message, message.user, message.webgpu ?? false, message.stack));
  }
}
