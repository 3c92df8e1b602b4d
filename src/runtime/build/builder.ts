import type { RunnerKind } from '../../control/packaging/detect.ts';
import type { Pushes } from '../../control/pushes.ts';
import type { Registry, RegistryEvent } from '../../control/registry.ts';
import { badRequest, GirderError } from '../../errors.ts';
import type { DeploymentBuild, DeploymentRecord } from '../../records/control.ts';
import type { ModelConfig } from '../../records/model-config.ts';
import type { Sandbox } from '../sandbox.ts';
import { detectModel } from '../../control/packaging/detect.ts';
import { BuildLogs, type BuildLogWriter } from './build-log.ts';
import { EnvCache } from './env-cache.ts';
import { download, place } from './external-data.ts';
import { buildNodeEnv } from './node-env.ts';
import { allReady, type BuildPlan, dataDirOf, planBuild, readPyproject } from './plan.ts';
import { openJail } from './jail.ts';
import { buildPythonEnv } from './python-env.ts';
import { BuildError } from './run-tool.ts';
import { buildSpec, isEmpty } from './spec.ts';

export interface BuilderOptions {
  dataDir: string;
  registry: Registry;
  pushes: Pushes;
  /** How often unused environments are looked for (default 1 h; 0: never automatically). */
  gcIntervalMs?: number;
  /** How long an environment no deployment uses is kept by the automatic gc (default 24 h). */
  gcGraceMs?: number;
  /** Replicas run unsandboxed as users of their own: virtualenvs only from interpreters they may run. */
  forOthers?: boolean;
  /** Where the build tools run (`jail.ts`): the replicas' sandbox. Without it, as Girder itself (unit tests). */
  sandbox?: Sandbox;
}

const now = (): string => new Date().toISOString();

/** The environment paths and data keys a plan gives its deployment. */
function envsOf(plan: BuildPlan): Pick<DeploymentBuild, 'envs' | 'data'> {
  const envs: DeploymentBuild['envs'] = {};
  if (plan.python && 'dir' in plan.python) envs.python = plan.python.dir;
  if (plan.node) envs.node = plan.node.dir;
  return { envs, ...(plan.data.length && { data: plan.data.map((d) => d.dir) }) };
}

/**
 * Builds pushed deployments: a virtualenv with their requirements, a node environment with their
 * npm dependencies, their build commands, their external data. The push asks `plan()` (in the
 * request, cheap): nothing to build, everything cached (`BUILT` at once, the push starts as fast as
 * without builds), or `BUILDING`, which this then builds in the background, following the
 * registry, and reports through `Pushes.buildEnded` (which promotes a success as its push asked).
 * Builds interrupted by a restart of Girder run again at `start()`.
 *
 * @example
 *   const builder = new Builder({ dataDir, registry, pushes });
 *   builder.start();
 *   const build = await builder.plan(dir, config); // → null | { status: 'BUILT' | 'BUILDING', … }
 */
export class Builder {
  readonly logs: BuildLogs;
  readonly envs: EnvCache;
  readonly #opts: BuilderOptions;
  /** Deployment id → the build running for it (its `startedAt`). */
  readonly #running = new Map<string, string>();
  /** Builds under way, so that close() waits until their tools are gone and their half builds removed. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Stops every build's tools when Girder closes (a restart builds them again). */
  readonly #abort = new AbortController();

  constructor(opts: BuilderOptions) {
    this.#opts = opts;
    this.logs = new BuildLogs(opts.dataDir);
    this.envs = new EnvCache(opts.dataDir);
    opts.registry.on('change', (e) => this.#onChange(e));
  }

  /** Runs the builds a previous Girder left unfinished, and the automatic gc. */
  start(): void {
    for (const d of this.#opts.registry.deployments.values()) this.#maybeBuild(d);
    const every = this.#opts.gcIntervalMs ?? 3_600_000;
    if (every > 0) {
      this.#timer = setInterval(() => void this.gc(this.#opts.gcGraceMs ?? 86_400_000).catch(() => {}), every);
      this.#timer.unref();
    }
  }

  /** Stops every build (a restart runs them again) and resolves once they have cleaned up. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * What a pushed directory's deployment must build: null for nothing, a `BUILT` build when every
   * part is cached (its external files are put in place now), else a `BUILDING` one. A bad build
   * key is a 400.
   */
  async plan(dir: string, config: ModelConfig): Promise<DeploymentBuild | null> {
    const plan = await this.#planOf(dir, config);
    if (!plan) return null;
    const base = { ...envsOf(plan), error: null, startedAt: now(), onBuilt: null, runs: 0 };
    if (!allReady(plan)) return { ...base, status: 'BUILDING', finishedAt: null };
    await this.#placeData(plan, dir, config);
    return { ...base, status: 'BUILT', finishedAt: now() };
  }

  async #planOf(dir: string, config: ModelConfig): Promise<BuildPlan | null> {
    const entry = detectModel(dir, config);
    const runner: RunnerKind = typeof entry === 'string' ? 'custom' : entry.runner;
    let spec: Awaited<ReturnType<typeof buildSpec>>;
    try {
      spec = await buildSpec(dir, config, runner, readPyproject);
    } catch (err) {
      if (err instanceof BuildError) throw badRequest(err.message, 'Fix it and push again.');
      throw err;
    }
    if (isEmpty(spec)) return null;
    try {
      const plan = await planBuild(dir, spec, this.envs, this.#opts.forOthers);
      return plan.python === null && plan.node === null && plan.data.length === 0 ? null : plan;
    } catch (err) {
      if (err instanceof BuildError) throw badRequest(err.message, 'Fix it and push again.');
      throw err;
    }
  }

  async #placeData(plan: BuildPlan, dir: string, config: ModelConfig): Promise<void> {
    const target = dataDirOf(dir, config.data_dir);
    for (const [i, f] of plan.spec.externalData.entries()) await place(plan.data[i].dir, target, f.localDataPath);
  }

  #onChange(e: RegistryEvent): void {
    if (e.type === 'deployment-removed') {
      void this.logs.remove(e.deployment.id);
      return;
    }
    this.#maybeBuild(e.deployment);
  }

  /** Starts the build of a deployment that is BUILDING and not being built already. */
  #maybeBuild(d: DeploymentRecord): void {
    const b = d.build;
    if (this.#closed || b?.status !== 'BUILDING' || this.#running.get(d.id) === b.startedAt) return;
    this.#running.set(d.id, b.startedAt);
    const run = this.#build(d.id, d.dir, d.config, b).finally(() => {
      if (this.#running.get(d.id) === b.startedAt) this.#running.delete(d.id);
      this.#inFlight.delete(run);
    });
    this.#inFlight.add(run);
  }

  /**
   * Builds what `dir` needs before the push that waits on it can go on (a chain's folder, whose file
   * must import its packages to be described): the BUILT record, null when there is nothing to build,
   * or a 400 with the tool's own error. Its log is the build log of `logId`.
   *
   * @example
   *   const build = await builder.buildNow(chainDeploymentId, snapshotDir, chainBuildConfig('chain.ts'));
   */
  async buildNow(logId: string, dir: string, config: ModelConfig): Promise<DeploymentBuild | null> {
    const planned = await this.plan(dir, config);
    if (!planned || planned.status === 'BUILT') return planned;
    const outcome = await this.#execute(logId, dir, config, planned);
    if (outcome.status === 'BUILD_FAILED')
      throw badRequest(
        `The build failed: ${outcome.error}`,
        'Fix the package.json (or build commands) and push again.',
      );
    return outcome;
  }

  async #build(id: string, dir: string, config: ModelConfig, started: DeploymentBuild): Promise<void> {
    const outcome = await this.#execute(id, dir, config, started);
    // Only if the deployment still holds what was built (a development push may have replaced it).
    const current = this.#opts.registry.deployments.get(id);
    if (!current || current.dir !== dir || current.build?.startedAt !== started.startedAt || this.#closed) return;
    await this.#opts.pushes.buildEnded(id, outcome).catch((err) => {
      if (!(err instanceof GirderError)) throw err;
    });
  }

  /** Runs a build to its end, writing its log: the BUILT or BUILD_FAILED record. */
  async #execute(id: string, dir: string, config: ModelConfig, started: DeploymentBuild): Promise<DeploymentBuild> {
    const log = await this.logs.open(id);
    log.signal = this.#abort.signal;
    let outcome: DeploymentBuild;
    const runs = { n: 0 };
    try {
      const plan = await this.#planOf(dir, config);
      const envs = plan ? envsOf(plan) : { envs: {} };
      if (plan) await this.#run(id, log, plan, dir, config, runs);
      log.write('girder', runs.n ? `build finished (${runs.n} steps run)` : 'build finished: everything was cached');
      outcome = { ...started, ...envs, status: 'BUILT', runs: runs.n, error: null, finishedAt: now() };
    } catch (err) {
      const message = err instanceof BuildError || err instanceof GirderError ? err.message : String(err);
      log.write('girder', `build failed: ${message}`);
      outcome = { ...started, status: 'BUILD_FAILED', runs: runs.n, error: message, finishedAt: now() };
    }
    await log.close();
    return outcome;
  }

  /** Builds what the plan lacks, each part through the cache (so two pushes of one hash build once). */
  async #run(id: string, log: BuildLogWriter, plan: BuildPlan, dir: string, config: ModelConfig, runs: { n: number }) {
    const { spec } = plan;
    const { sandbox, dataDir } = this.#opts;
    const jailFor = sandbox ? (writable: string) => openJail(sandbox, dataDir, id, dir, writable) : undefined;
    const py = plan.python;
    if (py && 'missing' in py) throw new BuildError(py.missing);
    if (py) {
      log.write('girder', `python ${py.interp.version} (${py.interp.executable}): environment ${py.hash}`);
      const built = await this.envs.ensure('python', py.hash, async (venv) => {
        runs.n += (spec.python?.requirements.length ? 1 : 0) + spec.buildCommands.length;
        const jail = await jailFor?.(venv);
        try {
          await buildPythonEnv(log, py.interp, spec.python?.requirements ?? [], spec.buildCommands, venv, dir, jail);
        } finally {
          await jail?.close();
        }
      });
      if (!built) log.write('girder', `python environment ${py.hash}: cached, nothing to install`);
    }
    if (plan.node) {
      const node = plan.node;
      log.write('girder', `node ${process.version}: environment ${node.hash}`);
      const built = await this.envs.ensure('node', node.hash, (target) => {
        runs.n += 1 + spec.buildCommands.length;
        return buildNodeEnv(log, dir, spec.node!, spec.buildCommands, target, jailFor);
      });
      if (!built) log.write('girder', `node environment ${node.hash}: cached, nothing to install`);
    }
    for (const [i, f] of spec.externalData.entries()) {
      const d = plan.data[i];
      const built = await this.envs.ensure('data', d.key, (target) => {
        runs.n += 1;
        return download(log, f, target);
      });
      if (!built) log.write('girder', `${f.url}: cached`);
    }
    await this.#placeData(plan, dir, config);
  }

  /**
   * Removes the environments no deployment uses (nor a build running now) and unused for `graceMs`:
   * `girder gc` passes 0. Returns the directories removed.
   *
   * @example
   *   await builder.gc(0); // → ['/data/envs/python/9c1e…']
   */
  async gc(graceMs = 0): Promise<string[]> {
    const inUse = new Set<string>();
    for (const d of this.#opts.registry.deployments.values()) {
      const b = d.build;
      if (!b) continue;
      for (const p of [b.envs.python, b.envs.node, ...(b.data ?? [])]) if (p) inUse.add(p);
    }
    return this.envs.collect(inUse, graceMs);
  }
}
