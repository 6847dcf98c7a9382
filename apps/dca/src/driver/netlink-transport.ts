import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DriverError } from './driver';
import { NETLINK_PROTOCOL } from './kernel-protocol';

/**
 * One request/answer exchange with the Layer 4.5 core over netlink: `text` is an ASCII request
 * (kernel-protocol.ts), the answer the raw payload of the core's netlink message (NUL padding and
 * all; the driver parses it).
 */
export interface NetlinkTransport {
  request(text: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** The helper script shipped with the DCA (apps/dca/scripts/l45_netlink.py). */
export const HELPER_SCRIPT = 'l45_netlink.py';

/** Where the helper is: next to the sources (src/driver → ../../scripts), else under the working directory. */
export function defaultHelperPath(): string {
  const candidates = [resolve(__dirname, '../../scripts', HELPER_SCRIPT), resolve('apps/dca/scripts', HELPER_SCRIPT)];
  return candidates.find((p) => existsSync(p)) ?? candidates[candidates.length - 1];
}

export interface HelperTransportOptions {
  /** The helper script (default: defaultHelperPath()). */
  script?: string;
  /** The interpreter (default `python3`, found on PATH). */
  python?: string;
  /** Netlink protocol number (default 25, the Layer 4.5 core's). */
  protocol?: number;
  /** How long the helper waits for the kernel's answer (default 5 s); we wait 2 s longer. */
  timeoutMs?: number;
  /** How long opening the socket may take (default 5 s). */
  startTimeoutMs?: number;
  /** Spawns the helper (tests hand in a fake). */
  spawnHelper?: (command: string, args: string[]) => ChildProcess;
}

interface Frame {
  kind: string;
  payload: Buffer;
}

/**
 * The production netlink transport: a small Python 3 helper (standard library only) holds the
 * raw netlink socket, because Node has none. It is spawned once and spoken to over stdin/stdout
 * with length-prefixed frames (protocol in the script's docstring); requests go one at a time.
 * If the helper dies, the next request starts a new one.
 */
export class HelperNetlinkTransport implements NetlinkTransport {
  private child?: ChildProcess;
  private buffered: Buffer = Buffer.alloc(0);
  private waiter?: { resolve: (f: Frame) => void; reject: (e: Error) => void };
  private exitError?: Error;
  private stderrTail = '';
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly o: Required<Omit<HelperTransportOptions, 'spawnHelper'>> & Pick<HelperTransportOptions, 'spawnHelper'>;

  private constructor(opts: HelperTransportOptions) {
    this.o = {
      script: opts.script ?? defaultHelperPath(),
      python: opts.python ?? 'python3',
      protocol: opts.protocol ?? NETLINK_PROTOCOL,
      timeoutMs: opts.timeoutMs ?? 5_000,
      startTimeoutMs: opts.startTimeoutMs ?? 5_000,
      spawnHelper: opts.spawnHelper,
    };
  }

  /**
   * Starts the helper and waits until it has opened and bound the netlink socket. Fails with a
   * DriverError that says why (no python3, no such protocol: the core is not loaded, no permission).
   */
  static async open(opts: HelperTransportOptions = {}): Promise<HelperNetlinkTransport> {
    const t = new HelperNetlinkTransport(opts);
    await t.start();
    return t;
  }

  request(text: string): Promise<Buffer> {
    const run = this.queue.then(() => this.exchange(text));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      child.once('close', () => {
        clearTimeout(timer);
        done();
      });
      child.stdin?.end(); // EOF: the helper exits 0
    });
  }

  private async exchange(text: string): Promise<Buffer> {
    if (this.closed) throw new DriverError('the netlink transport is closed', 'unavailable');
    if (!this.child) await this.start();
    const payload = Buffer.from(`${text}\0`, 'ascii');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(payload.length);
    const answer = this.nextFrame(this.o.timeoutMs + Math.min(2_000, Math.max(200, this.o.timeoutMs)), `an answer to ${text.split(' ')[0]}`);
    this.child!.stdin!.write(Buffer.concat([head, payload]));
    const frame = await answer;
    if (frame.kind === 'A') return frame.payload;
    if (frame.kind === 'E') throw new DriverError(`netlink ${text.split(' ')[0]}: ${frame.payload.toString('utf8')}`, 'unavailable');
    throw new DriverError(`the netlink helper sent an unexpected frame ${JSON.stringify(frame.kind)}`, 'unavailable');
  }

  private async start(): Promise<void> {
    const what = `the Layer 4.5 netlink socket (protocol ${this.o.protocol})`;
    if (!this.o.spawnHelper && !existsSync(this.o.script)) {
      throw new DriverError(`cannot open ${what}: the netlink helper ${this.o.script} does not exist (set DCA_NETLINK_HELPER)`, 'unavailable');
    }
    this.buffered = Buffer.alloc(0);
    this.exitError = undefined;
    this.stderrTail = '';
    const args = [this.o.script, '--protocol', String(this.o.protocol), '--timeout-ms', String(this.o.timeoutMs)];
    const child = this.o.spawnHelper
      ? this.o.spawnHelper(this.o.python, args)
      : spawn(this.o.python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-500)));
    child.stdin!.on('error', () => undefined); // EPIPE after the helper died: the exit handler reports it
    const fail = (e: Error) => {
      if (this.child !== child) return; // a helper we already gave up on
      this.child = undefined;
      this.exitError = e;
      this.waiter?.reject(e);
      this.waiter = undefined;
    };
    child.on('error', (e: NodeJS.ErrnoException) =>
      fail(new DriverError(e.code === 'ENOENT' ? `${this.o.python} was not found (the netlink helper needs Python 3)` : `netlink helper: ${e.message}`, 'unavailable')),
    );
    // 'close', not 'exit': by then everything the helper wrote (its error frame) has been read.
    child.on('close', (code, signal) => {
      const tail = this.stderrTail.trim();
      fail(new DriverError(`the netlink helper exited (${signal ?? `status ${code}`})${tail ? `: ${tail}` : ''}`, 'unavailable'));
    });
    let frame: Frame;
    try {
      frame = await this.nextFrame(this.o.startTimeoutMs, 'the helper to open the socket');
    } catch (e) {
      this.kill(child);
      throw new DriverError(`cannot open ${what}: ${(e as Error).message}`, 'unavailable');
    }
    if (frame.kind !== 'R') {
      this.kill(child);
      const reason = frame.kind === 'E' ? frame.payload.toString('utf8') : `unexpected frame ${JSON.stringify(frame.kind)}`;
      throw new DriverError(`cannot open ${what}: ${reason}. The Linux driver needs root and the Layer 4.5 core (layer4_5.ko) loaded`, 'unavailable');
    }
  }

  private kill(child: ChildProcess): void {
    if (this.child === child) this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  private nextFrame(timeoutMs: number, what: string): Promise<Frame> {
    return new Promise<Frame>((resolveFrame, rejectFrame) => {
      const child = this.child;
      const timer = setTimeout(() => {
        this.waiter = undefined;
        // An answer that comes later would be taken for the next one: start afresh instead.
        if (child) this.kill(child);
        rejectFrame(new DriverError(`timed out after ${timeoutMs} ms waiting for ${what}`, 'unavailable'));
      }, timeoutMs);
      this.waiter = {
        resolve: (f) => {
          clearTimeout(timer);
          resolveFrame(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          rejectFrame(e);
        },
      };
      this.deliver();
      if (this.waiter && !this.child) this.waiter.reject(this.exitError ?? new DriverError('the netlink helper is not running', 'unavailable'));
    });
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.deliver();
  }

  private deliver(): void {
    if (!this.waiter || this.buffered.length < 5) return;
    const len = this.buffered.readUInt32BE(1);
    if (this.buffered.length < 5 + len) return;
    const frame = { kind: String.fromCharCode(this.buffered[0]), payload: Buffer.from(this.buffered.subarray(5, 5 + len)) };
    this.buffered = this.buffered.subarray(5 + len);
    const w = this.waiter;
    this.waiter = undefined;
    w.resolve(frame);
  }
}

/** One recorded exchange: the request text and the core's answer bytes (or an error to throw). */
export interface RecordedExchange {
  request: string;
  answer: Buffer | Error;
}

/**
 * A transport that plays recorded answers in order and records what was asked, for tests. A
 * request that differs from the next recorded one fails the test with both texts.
 */
export class RecordedNetlinkTransport implements NetlinkTransport {
  readonly sent: string[] = [];
  closed = false;

  constructor(private readonly script: RecordedExchange[] = []) {}

  /** Queues another exchange. */
  expect(request: string, answer: Buffer | Error): this {
    this.script.push({ request, answer });
    return this;
  }

  get pending(): number {
    return this.script.length;
  }

  async request(text: string): Promise<Buffer> {
    this.sent.push(text);
    const next = this.script.shift();
    if (!next) throw new Error(`RecordedNetlinkTransport: unexpected request ${JSON.stringify(text)} (nothing recorded)`);
    if (next.request !== text) throw new Error(`RecordedNetlinkTransport: expected ${JSON.stringify(next.request)}, got ${JSON.stringify(text)}`);
    if (next.answer instanceof Error) throw next.answer;
    return Buffer.from(next.answer);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
