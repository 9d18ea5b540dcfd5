/**
 * Keeps a tslab kernel from hanging when a cell prints or updates a display many times in a row.
 *
 * tslab sends every output (each `console.log`, each display update) with zeromq's
 * `socket.send()` and does not wait for it. zeromq.js 6 sends at once only 512 times in a row;
 * the next send is put off until the event loop runs, and any send made before then throws
 * "Socket is busy writing". Inside tslab that error leaves the cell without a reply, and the
 * kernel hangs. The count carries over from cell to cell, so sooner or later a cell that sends
 * two outputs without awaiting in between (a training loop's progress table, two `console.log`s)
 * meets it.
 *
 * `queueKernelSends()` makes the kernel's publisher sockets (the iopub channel all outputs go
 * through) keep such a send in a queue and send it, in order, as soon as the delayed one is out.
 * It patches the zeromq module the kernel itself loaded, once; outside a kernel it does nothing.
 */

interface SendingSocket {
  send(message: unknown): Promise<void>;
}

type Send = (this: SendingSocket, message: unknown) => Promise<void>;

interface Waiting {
  message: unknown;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface SocketState {
  /** The promise of the last send that went to zeromq (the delayed one when the socket is busy). */
  last: Promise<void>;
  queue: Waiting[];
  flushScheduled: boolean;
}

const ZEROMQ_INDEX = /[\\/]zeromq[\\/]lib[\\/]index\.js$/;
const PATCHED = Symbol.for('fastbook.queuedKernelSends');

function isBusy(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e !== null && typeof e === 'object' && (e.code === 'EBUSY' || /busy writing/.test(String(e.message)));
}

/** A `send` that queues instead of throwing while zeromq is busy with a delayed send. */
function queueingSend(original: Send): Send {
  const states = new WeakMap<SendingSocket, SocketState>();
  const stateOf = (socket: SendingSocket): SocketState => {
    let state = states.get(socket);
    if (state === undefined) {
      state = { last: Promise.resolve(), queue: [], flushScheduled: false };
      states.set(socket, state);
    }
    return state;
  };
  const scheduleFlush = (socket: SendingSocket, state: SocketState): void => {
    if (state.flushScheduled) return;
    state.flushScheduled = true;
    const flush = (): void => {
      state.flushScheduled = false;
      while (state.queue.length > 0) {
        const item = state.queue[0];
        let sent: Promise<void>;
        try {
          sent = original.call(socket, item.message);
        } catch (err) {
          if (isBusy(err)) return scheduleFlush(socket, state);
          state.queue.shift();
          item.reject(err);
          continue;
        }
        state.queue.shift();
        state.last = sent;
        sent.then(item.resolve, item.reject);
      }
    };
    state.last.then(flush, flush);
  };
  return function send(this: SendingSocket, message: unknown): Promise<void> {
    const state = stateOf(this);
    if (state.queue.length === 0) {
      try {
        const sent = original.call(this, message);
        state.last = sent;
        return sent;
      } catch (err) {
        if (!isBusy(err)) throw err;
      }
    }
    const queued = new Promise<void>((resolve, reject) => state.queue.push({ message, resolve, reject }));
    scheduleFlush(this, state);
    return queued;
  };
}

/**
 * Inside a tslab kernel, makes zeromq's `Publisher` sockets queue sends while busy instead of
 * throwing (see above). Returns how many loaded copies of zeromq it patched (0 outside a kernel).
 */
export function queueKernelSends(): number {
  if ((globalThis as { __tslab__?: unknown }).__tslab__ === undefined) return 0;
  let patched = 0;
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!mod || !ZEROMQ_INDEX.test(file)) continue;
    const publisher = (mod.exports as { Publisher?: { prototype: SendingSocket & { [PATCHED]?: boolean } } }).Publisher;
    if (publisher === undefined || typeof publisher.prototype.send !== 'function') continue;
    if (publisher.prototype[PATCHED] !== true) {
      const send = queueingSend(publisher.prototype.send as Send);
      Object.defineProperty(publisher.prototype, 'send', { value: send, writable: true, configurable: true });
      Object.defineProperty(publisher.prototype, PATCHED, { value: true });
    }
    patched++;
  }
  return patched;
}
