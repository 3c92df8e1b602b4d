import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { newReplicaId } from '../ids.ts';
import { asPushed } from '../control/packaging/source.ts';
import { freePort } from './ports.ts';
import type { ReplicaOptions } from './replica-options.ts';
import type { SpawnPlan } from './sandbox.ts';
import type { SlotHolder } from './slots.ts';

export type ReplicaState = 'starting' | 'ready' | 'unready' | 'stopping' | 'exited';

export type { ReplicaOptions } from './replica-options.ts';

/**
 * One replica: a child process serving the replica protocol on a loopback port, its probes, and an
 * undici pool of keep-alive connections to it. The supervisor decides when to start and stop it; the
 * slot queue routes to it while `routable`.
 *
 * Events: `state` (the new ReplicaState), `exit` (code, signal), `failed` (reason: it did not become
 * ready in time, or its liveness check failed for too long; the supervisor replaces it), `idle` (its
 * last request in flight was released).
 */
export class Replica
  extends EventEmitter<{
    state: [ReplicaState];
    exit: [number | null, NodeJS.Signals | null];
    failed: [string];
    idle: [];
  }>
  implements SlotHolder
{
  readonly id = newReplicaId();
  readonly capacity: number;
  readonly opts: ReplicaOptions;
  port = 0;
  pool: Pool | undefined;
  /** Whether it ever passed readiness: a replica that crashes after serving is restarted, not given up on. */
  wasReady = false;
  /** Exit code or signal once the process ended, for error messages. */
  exitInfo = '';
  /** When it was made, spawned, first answered HTTP (its server is up) and first became ready: a cold start's phases. */
  readonly times = { created: Date.now(), spawned: 0, up: 0, ready: 0 };
  #child: ChildProcess | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #readyFailingSince = 0;
  #liveFailingSince = 0;
  #startedAt = 0;
  #state: ReplicaState = 'starting';
  #inflight = 0;

  constructor(opts: ReplicaOptions) {
    super();
    this.opts = opts;
    this.capacity = opts.capacity;
  }

  /** Changes only through the replica's own methods, so that every change emits `state`. */
  get state(): ReplicaState {
    return this.#state;
  }

  /** Requests in flight on it now: counted by `acquired()` and `released()`. */
  get inflight(): number {
    return this.#inflight;
  }

  /** A slot on it was taken. */
  acquired(): void {
    this.#inflight++;
  }

  /** A slot on it was given back; the last one emits `idle`, which a draining replica waits for. */
  released(): void {
    if (--this.#inflight === 0) this.emit('idle');
  }

  get routable(): boolean {
    return this.state === 'ready';
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #setState(state: ReplicaState): void {
    if (this.#state === state) return;
    this.#state = state;
    if (state === 'ready') this.wasReady = true;
    if (state === 'ready') this.times.ready ||= Date.now();
    this.emit('state', state);
  }

  #note(level: string, msg: string): void {
    this.opts.logs.note(this.opts.deploymentId, this.id, level, msg);
  }

  async start(): Promise<void> {
    const { spec, logs, deploymentId } = this.opts;
    this.port = spec.fixedPort ?? (await freePort());
    this.pool = new Pool(this.origin, {
      connections: null,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.#startedAt = Date.now();
    const env = { ...this.opts.env, PORT: String(this.port) };
    const direct: SpawnPlan = { command: spec.command, args: spec.args, cwd: spec.cwd, env, note: '' };
    const planned = this.opts.sandbox?.plan({ deploymentId, spec, env }) ?? Promise.resolve(direct);
    const plan = await planned.catch((err: Error) => {
      // Fails like a command that cannot start, so the supervisor sees an exit and backs off.
      this.#note('error', `could not prepare the replica's sandbox: ${err.message}`);
      this.#exited(null, null, err.message);
    });
    if (!plan || this.#ending()) return; // it failed, or was stopped while its sandbox was prepared
    this.times.spawned = this.#startedAt;
    const how = plan.note ? ` (${plan.note})` : '';
    this.#note('info', `starting ${spec.runner} replica on port ${this.port}${how}`);
    // A process group of its own, so that stop() reaches every process a custom command starts.
    const child = spawn(plan.command, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      uid: plan.uid,
      gid: plan.gid,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    const shown = asPushed(spec.cwd, this.opts.sourceDir);
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream]!, crlfDelay: Infinity }).on('line', (line) =>
        logs.addLine(deploymentId, this.id, stream, shown(line)),
      );
    }
    child.stdin!.on('error', () => {});
    child.on('error', (err) => {
      this.#note('error', `could not start \`${spec.command}\`: ${err.message}`);
      this.#exited(null, null, err.message);
    });
    child.on('exit', (code, signal) => this.#exited(code, signal));
    this.#schedule(0);
  }

  #exited(code: number | null, signal: NodeJS.Signals | null, reason?: string): void {
    if (this.state === 'exited') return;
    clearTimeout(this.#probeTimer);
    this.exitInfo = reason ?? (signal ? `signal ${signal}` : `exit code ${code}`);
    if (this.state !== 'stopping') this.#note('error', `replica exited unexpectedly (${this.exitInfo})`);
    this.#setState('exited');
    void this.pool?.destroy().catch(() => {});
    this.emit('exit', code, signal);
  }

  #schedule(ms: number): void {
    this.#probeTimer = setTimeout(() => void this.#probe(), ms);
    this.#probeTimer.unref();
  }

  #ending(): boolean {
    return this.state === 'stopping' || this.state === 'exited';
  }

  async #check(path: string): Promise<boolean> {
    try {
      const res = await this.pool!.request({ path, method: 'GET', headersTimeout: 5_000, bodyTimeout: 5_000 });
      this.times.up ||= Date.now();
      await res.body.dump();
      return res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      return false;
    }
  }

  async #probe(): Promise<void> {
    if (this.#ending()) return;
    const { spec, startupTimeoutMs, stopTrafficAfterMs, restartAfterMs, probeIntervalMs } = this.opts;
    const now = Date.now();
    if (this.state === 'starting') {
      const ready = await this.#check(spec.readinessPath);
      if (this.#ending()) return; // stopped while the probe ran: never back to ready
      if (ready) {
        this.#note('info', `ready after ${((Date.now() - this.#startedAt) / 1000).toFixed(1)} s`);
        this.#setState('ready');
        this.#schedule(probeIntervalMs);
      } else if (now - this.#startedAt > startupTimeoutMs) {
        this.#note('error', `not ready after ${startupTimeoutMs / 1000} s (startup_threshold_seconds); replacing it`);
        this.emit('failed', 'startup timeout');
      } else {
        // Poll fast at first so that a quick model is routable at once (a cold start waits for this), then back off.
        this.#schedule(Math.min(probeIntervalMs, 5 + (now - this.#startedAt) / 20));
      }
      return;
    }
    const [live, ready] = await Promise.all([this.#check(spec.livenessPath), this.#check(spec.readinessPath)]);
    if (this.#ending()) return; // stopped while the probes ran
    const t = Date.now();
    this.#liveFailingSince = live ? 0 : this.#liveFailingSince || t;
    this.#readyFailingSince = ready ? 0 : this.#readyFailingSince || t;
    if (this.#liveFailingSince && t - this.#liveFailingSince >= restartAfterMs) {
      this.#note('error', 'Health check failed: liveness failing; restarting the replica');
      this.emit('failed', 'liveness');
      return;
    }
    if (this.#readyFailingSince && t - this.#readyFailingSince >= stopTrafficAfterMs && this.state === 'ready') {
      this.#note('warn', 'Health check failed: readiness failing; traffic stopped');
      this.#setState('unready');
    } else if (!this.#readyFailingSince && this.state === 'unready') {
      this.#note('info', 'readiness passing again; traffic resumed');
      this.#setState('ready');
    }
    this.#schedule(probeIntervalMs);
  }

  /**
   * A request lost its connection to this replica: stop routing to it now, before the exit event
   * or the next probe would tell, and probe at once. A live replica comes back on that probe.
   */
  suspect(): void {
    if (this.state !== 'ready') return;
    this.#setState('unready');
    clearTimeout(this.#probeTimer);
    this.#schedule(0);
  }

  /**
   * Stops routing to it at once, lets its requests in flight finish (until the last is released, or
   * at most `graceMs`), then stops the process. Resolves once it exited.
   */
  async drain(graceMs: number): Promise<void> {
    if (this.state === 'exited') return;
    this.#setState('stopping');
    clearTimeout(this.#probeTimer);
    if (this.inflight > 0) {
      // The first of: the last release, the process ending by itself, the grace period.
      const settled = new AbortController();
      const signal = AbortSignal.any([settled.signal, AbortSignal.timeout(graceMs)]);
      await Promise.race([once(this, 'idle', { signal }), once(this, 'exit', { signal })]).catch(() => {});
      settled.abort(); // drops the listener that lost the race
    }
    await this.stop();
  }

  /** Stops the process group: SIGTERM, then SIGKILL after `graceMs`. Resolves once it exited. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.state === 'exited') return;
    const child = this.#child;
    this.#setState('stopping');
    clearTimeout(this.#probeTimer);
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) {
      this.#exited(child?.exitCode ?? null, child?.signalCode ?? null);
      return;
    }
    const exited = new Promise<void>((resolve) => this.once('exit', () => resolve()));
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* already gone */
      }
    };
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    // Children the command left behind in its group.
    kill('SIGKILL');
  }

  /** Kills at once, without waiting: for a server that is itself exiting. */
  killNow(): void {
    const pid = this.#child?.pid;
    if (pid && this.state !== 'exited') {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}
