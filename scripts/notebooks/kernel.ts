/**
 * A tslab kernel process and a Jupyter client for it: `tslab kernel --config-path <file>` started
 * with a fresh connection file, spoken to over ZeroMQ (shell: Dealer, iopub: Subscriber).
 * Every kernel runs in a process group of its own, and it and its temporary folder are gone when
 * this process ends, however it ends (SIGKILL included: see ../reaper.ts).
 */
import { ChildProcess } from 'child_process';
import { randomBytes, randomUUID } from 'crypto';
import { readFileSync, writeFileSync } from 'fs';
import { connect, createServer } from 'net';
import { dirname, join } from 'path';
import { Dealer, Subscriber } from 'zeromq';
import { killGroup, removeTempDir, spawnGroup, tempDir } from '../reaper';
import { decodeMessage, encodeMessage, JupyterMessage, newHeader } from './wire';

export interface ConnectionInfo {
  transport: 'tcp';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
  kernel_name: string;
}

export interface ExecuteReply {
  status: 'ok' | 'error' | 'abort';
  executionCount: number | null;
  content: Record<string, unknown>;
}

export type IopubHandler = (message: JupyterMessage) => void;

export class KernelError extends Error {}
/** A cell ran past its time limit; the kernel was killed. */
export class CellTimeoutError extends KernelError {}
/**
 * tslab answered a request before all its sockets were bound and lost its message loop (zeromq:
 * "Socket is blocked by a bind or unbind operation"); a new kernel is started instead.
 */
class KernelStartRace extends KernelError {}

/** What tslab prints when a request reaches it while a socket of it is still binding. */
const BIND_RACE = /Socket is blocked by a bind or unbind operation/;

interface PendingExecution {
  onIopub: IopubHandler;
  reply: JupyterMessage | null;
  idle: boolean;
  resolve: (reply: ExecuteReply) => void;
  reject: (error: Error) => void;
}

const liveKernels = new Set<TslabKernel>();
let exitHookInstalled = false;

/** Kills every kernel this process started and has not shut down yet (synchronous). */
export function killAllKernels(): void {
  for (const kernel of liveKernels) kernel.kill();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllKernels);
}

/** The path of tslab's command-line entry (from tslab's package.json `bin`). */
export function tslabBinPath(): string {
  const pkgPath = require.resolve('tslab/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.tslab;
  if (!bin) throw new Error(`${pkgPath}: no "bin.tslab" entry; cannot start the tslab kernel`);
  return join(dirname(pkgPath), bin);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free TCP port on 127.0.0.1'))));
    });
  });
}

async function newConnectionInfo(): Promise<ConnectionInfo> {
  const ports: number[] = [];
  while (ports.length < 5) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return {
    transport: 'tcp',
    ip: '127.0.0.1',
    shell_port: ports[0],
    iopub_port: ports[1],
    stdin_port: ports[2],
    control_port: ports[3],
    hb_port: ports[4],
    key: randomBytes(32).toString('hex'),
    signature_scheme: 'hmac-sha256',
    kernel_name: 'tslab',
  };
}

const OUTPUT_TAIL_CHARS = 8000;

export interface KernelStartOptions {
  /** The kernel's working directory (the notebook's folder). */
  cwd: string;
  startTimeoutMs?: number;
  /** The command that starts a kernel for a connection file (default: this project's tslab on this Node). */
  command?: (connectionFile: string) => string[];
}

function tslabCommand(connectionFile: string): string[] {
  return [process.execPath, tslabBinPath(), 'kernel', '--config-path', connectionFile];
}

export class TslabKernel {
  private readonly session = randomUUID();
  private readonly shell = new Dealer({ linger: 0 });
  private readonly iopub = new Subscriber({ linger: 0 });
  private readonly pending = new Map<string, PendingExecution>();
  private readonly infoReplies = new Set<string>();
  private outputTail = '';
  private exited: string | null = null;
  private closed = false;
  kernelInfo: Record<string, unknown> = {};

  private constructor(
    private readonly child: ChildProcess,
    private readonly conn: ConnectionInfo,
    private readonly connDir: string,
  ) {
    liveKernels.add(this);
    const keep = (chunk: Buffer) => {
      this.outputTail = (this.outputTail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code, signal) => {
      this.exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.failAll(new KernelError(`tslab kernel ${this.exited}${this.describeOutput()}`));
      this.cleanup();
    });
    const addr = (port: number) => `tcp://${conn.ip}:${port}`;
    this.shell.connect(addr(conn.shell_port));
    this.iopub.connect(addr(conn.iopub_port));
    this.iopub.subscribe();
    void this.receive(this.shell, (m) => this.onShell(m));
    void this.receive(this.iopub, (m) => this.onIopub(m));
  }

  /**
   * Starts `node <tslab> kernel --config-path <file>` in `cwd` and waits until it answers. A kernel
   * that lost the race between its first request and its own socket binds is replaced, once.
   */
  static async start(options: KernelStartOptions): Promise<TslabKernel> {
    installExitHook();
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    try {
      return await TslabKernel.startOnce(options, deadline, timeoutMs);
    } catch (e) {
      if (!(e instanceof KernelStartRace)) throw e;
      return TslabKernel.startOnce(options, deadline, timeoutMs);
    }
  }

  private static async startOnce(options: KernelStartOptions, deadline: number, timeoutMs: number): Promise<TslabKernel> {
    const conn = await newConnectionInfo();
    const connDir = tempDir('tslab-kernel-');
    const connFile = join(connDir, 'connection.json');
    writeFileSync(connFile, JSON.stringify(conn), { mode: 0o600 });
    const [file, ...args] = (options.command ?? tslabCommand)(connFile);
    const child = spawnGroup(file, args, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    const kernel = new TslabKernel(child, conn, connDir);
    try {
      await kernel.waitReady(deadline, timeoutMs);
    } catch (e) {
      kernel.kill();
      throw e;
    }
    return kernel;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs `code`; iopub messages of this request go to `onIopub` until the kernel is idle again. */
  execute(code: string, onIopub: IopubHandler, timeoutMs: number): Promise<ExecuteReply> {
    if (this.exited) return Promise.reject(new KernelError(`tslab kernel ${this.exited}`));
    const message: JupyterMessage<unknown> = {
      header: newHeader('execute_request', this.session),
      parent_header: {},
      metadata: {},
      content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
    };
    return new Promise<ExecuteReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(message.header.msg_id);
        this.kill();
        reject(new CellTimeoutError(`the cell ran longer than ${timeoutMs / 1000} s; the kernel was killed`));
      }, timeoutMs);
      const done = <T>(fn: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        this.pending.delete(message.header.msg_id);
        fn(v);
      };
      this.pending.set(message.header.msg_id, {
        onIopub,
        reply: null,
        idle: false,
        resolve: done(resolve),
        reject: done(reject),
      });
      this.send(message).catch((e: Error) => this.pending.get(message.header.msg_id)?.reject(e));
    });
  }

  /** Asks the kernel to shut down, then kills it if it is still there after `graceMs`. */
  async shutdown(graceMs = 2000): Promise<void> {
    if (this.exited) return this.cleanup();
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const message = { header: newHeader('shutdown_request', this.session), parent_header: {}, metadata: {}, content: { restart: false } };
    await this.send(message).catch(() => undefined);
    const timer = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([exited, timer]);
    this.kill();
  }

  /** Kills the kernel's process group now (synchronous; safe to call twice). */
  kill(): void {
    if (!this.exited) killGroup(this.child);
    this.cleanup();
  }

  private cleanup(): void {
    liveKernels.delete(this);
    if (this.closed) return;
    this.closed = true;
    this.shell.close();
    this.iopub.close();
    removeTempDir(this.connDir);
  }

  private describeOutput(): string {
    const tail = this.outputTail.trim();
    return tail ? `; its last output:\n${tail}` : '';
  }

  private async send(message: JupyterMessage<unknown>): Promise<void> {
    await this.shell.send(encodeMessage(this.conn.key, message));
  }

  private async receive(socket: Dealer | Subscriber, handle: (m: JupyterMessage) => void): Promise<void> {
    try {
      for await (const frames of socket) {
        let message: JupyterMessage;
        try {
          message = decodeMessage(this.conn.key, frames);
        } catch (e) {
          this.failAll(new KernelError(`bad message from the tslab kernel: ${(e as Error).message}`));
          continue;
        }
        handle(message);
      }
    } catch (e) {
      if (!this.closed) this.failAll(new KernelError(`ZeroMQ receive failed: ${(e as Error).message}`));
    }
  }

  private failAll(error: Error): void {
    for (const p of [...this.pending.values()]) p.reject(error);
  }

  private onShell(message: JupyterMessage): void {
    const parent = message.parent_header.msg_id ?? '';
    if (message.header.msg_type === 'kernel_info_reply') {
      this.kernelInfo = message.content;
      this.infoReplies.add(parent);
      return;
    }
    const p = this.pending.get(parent);
    if (!p || message.header.msg_type !== 'execute_reply') return;
    p.reply = message;
    this.settle(p);
  }

  private onIopub(message: JupyterMessage): void {
    const parent = message.parent_header.msg_id ?? '';
    this.infoReplies.add(`iopub:${parent}`);
    const p = this.pending.get(parent);
    if (!p) return;
    if (message.header.msg_type === 'status') {
      if (message.content.execution_state === 'idle') {
        p.idle = true;
        this.settle(p);
      }
      return;
    }
    p.onIopub(message);
  }

  private settle(p: PendingExecution): void {
    if (!p.reply || !p.idle) return;
    const content = p.reply.content;
    const status = content.status === 'ok' || content.status === 'abort' ? content.status : 'error';
    const count = typeof content.execution_count === 'number' ? content.execution_count : null;
    p.resolve({ status, executionCount: count, content });
  }

  /** Whether every port of the kernel accepts a connection, i.e. all its sockets are bound. */
  private async portsBound(): Promise<boolean> {
    const { ip, shell_port, iopub_port, stdin_port, control_port, hb_port } = this.conn;
    const accepts = (port: number) => new Promise<boolean>((resolve) => {
      const socket = connect({ host: ip, port });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => { socket.destroy(); resolve(false); });
    });
    const results = await Promise.all([shell_port, iopub_port, stdin_port, control_port, hb_port].map(accepts));
    return results.every(Boolean);
  }

  private checkStarting(): void {
    if (BIND_RACE.test(this.outputTail)) throw new KernelStartRace(`tslab kernel lost its message loop while starting${this.describeOutput()}`);
    if (this.exited) throw new KernelError(`tslab kernel ${this.exited} while starting${this.describeOutput()}`);
  }

  /**
   * Waits until all the kernel's sockets are bound (tslab binds them in parallel, and a request
   * reaching it before its iopub socket is bound breaks its message loop), then sends
   * kernel_info_request until one is answered on shell AND its status reached us on iopub: only
   * then is the iopub subscription live, so no output of the first cell is lost.
   */
  private async waitReady(deadline: number, timeoutMs: number): Promise<void> {
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    while (Date.now() < deadline) {
      this.checkStarting();
      if (await this.portsBound()) break;
      await pause(50);
    }
    const sent: string[] = [];
    while (Date.now() < deadline) {
      this.checkStarting();
      const message = { header: newHeader('kernel_info_request', this.session), parent_header: {}, metadata: {}, content: {} };
      sent.push(message.header.msg_id);
      await this.send(message);
      await pause(250);
      if (sent.some((id) => this.infoReplies.has(id) && this.infoReplies.has(`iopub:${id}`))) return;
    }
    this.checkStarting();
    throw new KernelError(`tslab kernel did not answer within ${timeoutMs / 1000} s${this.describeOutput()}`);
  }
}
