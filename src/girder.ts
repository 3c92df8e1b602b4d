import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Deployments } from './control/deployments.ts';
import { ChainEnvironments } from './control/chain-environments.ts';
import { ChainRegistry } from './control/chain-registry.ts';
import { chainletExtras } from './runtime/chainlet-env.ts';
import { Chains } from './control/chains.ts';
import { Environments } from './control/environments.ts';
import { KeyRing } from './control/keys.ts';
import { Pushes } from './control/pushes.ts';
import { Registry } from './control/registry.ts';
import { Secrets } from './control/secrets.ts';
import { UsageMeter } from './control/usage.ts';
import { DEFAULT_OPTIONS, type App, type GirderOptions } from './gateway/app-context.ts';
import type { FrontDoor } from './gateway/http1/front-door.ts';
import { createGatewayServer } from './gateway/server.ts';
import { AsyncQueue } from './queue/queue.ts';
import { WebhookSecrets } from './queue/webhook-secrets.ts';
import { WebhookSender } from './queue/webhooks.ts';
import { secureDataDir } from './runtime/data-dir-modes.ts';
import { Autoscaler } from './runtime/autoscaler/autoscaler.ts';
import { Builder } from './runtime/build/builder.ts';
import { LogBook } from './runtime/logs.ts';
import { Replica } from './runtime/replica.ts';
import { ReplicaUsers } from './runtime/replica-users.ts';
import { Sandbox } from './runtime/sandbox.ts';
import { Supervisor } from './runtime/supervisor.ts';
import { SqliteStore } from './store/sqlite/store.ts';
import type { Store } from './store/store.ts';

export interface StartOptions extends Partial<GirderOptions> {
  dataDir: string;
  /** Registered as a WORKSPACE_MANAGE_ALL key (GIRDER_API_KEY). */
  apiKey?: string;
}

/**
 * One Girder: the store, the control plane, the runtime and the gateway in one process.
 *
 * @example
 *   const g = await Girder.start({ dataDir: './.girder', port: 0 });
 *   console.log(g.url, g.newAdminKey);
 *   await g.close();
 */
export class Girder implements App {
  readonly options: GirderOptions;
  readonly store: Store;
  readonly registry: Registry;
  readonly deployments: Deployments;
  readonly environments: Environments;
  readonly pushes: Pushes;
  readonly keys: KeyRing;
  readonly chainRegistry: ChainRegistry;
  readonly chains: Chains;
  readonly chainEnvironments: ChainEnvironments;
  readonly secrets: Secrets;
  readonly logs: LogBook;
  readonly supervisor: Supervisor;
  readonly builder: Builder;
  readonly autoscaler: Autoscaler;
  readonly webhookSecrets: WebhookSecrets;
  readonly webhooks: WebhookSender;
  readonly queue: AsyncQueue;
  readonly usage: UsageMeter;
  readonly server: FrontDoor;
  /** How replicas are isolated (`sandbox.summary` says it in a line). */
  readonly sandbox: Sandbox;
  /** The admin key created by this start (first start without GIRDER_API_KEY), else null. */
  newAdminKey: string | null = null;
  #closed: Promise<void> | undefined;

  private constructor(options: GirderOptions, store: Store, sandbox: Sandbox) {
    this.options = options;
    this.store = store;
    this.sandbox = sandbox;
    this.registry = new Registry(store);
    this.deployments = new Deployments(store, this.registry);
    this.environments = new Environments(store, this.registry, this.deployments);
    this.pushes = new Pushes(this.registry, this.deployments, this.environments);
    this.builder = new Builder({
      dataDir: options.dataDir,
      registry: this.registry,
      pushes: this.pushes,
      forOthers: sandbox.dataDirTraversable,
      sandbox,
    });
    this.keys = new KeyRing(store);
    this.chainRegistry = new ChainRegistry(store, this.registry);
    this.chains = new Chains(store, this.chainRegistry, this.keys);
    this.chainEnvironments = new ChainEnvironments(
      store,
      this.chainRegistry,
      this.chains,
      this.deployments,
      this.environments,
    );
    this.secrets = new Secrets(store);
    this.logs = new LogBook(join(options.dataDir, 'logs'), {
      maxBytes: options.logMaxBytes,
      maxFiles: options.logMaxFiles,
    });
    this.autoscaler = new Autoscaler({
      registry: this.registry,
      // The queue is made below and sits above the runtime: its backlog reaches the autoscaler through this.
      backlog: (deploymentId) => this.queue.runnable(deploymentId),
      tickMs: options.autoscalerTickMs,
      timeScale: options.scalingTimeScale,
    });
    this.supervisor = new Supervisor({
      dataDir: options.dataDir,
      registry: this.registry,
      secrets: this.secrets,
      logs: this.logs,
      probeIntervalMs: options.probeIntervalMs,
      maxFailedStarts: options.maxFailedStarts,
      createReplica: (o) => new Replica({ ...o, sandbox }),
      replicaCount: this.autoscaler,
      // A replica scaled down finishes what it has, streams included, within the requests' own deadline.
      drainGraceMs: options.predictTimeoutSeconds * 1000,
      maxWaiting: options.maxWaitingRequests,
      // hops between chainlets go through this server, whose address is known once it listens
      chainletExtras: chainletExtras(this.chainRegistry, options.dataDir, () => this.url),
    });
    this.webhookSecrets = new WebhookSecrets(store);
    this.webhooks = new WebhookSender(
      {
        attempts: options.webhookAttempts,
        retryDelayMs: options.webhookRetryDelayMs,
        timeoutMs: options.webhookTimeoutMs,
        allowPrivate: options.allowPrivateWebhooks,
      },
      this.webhookSecrets,
    );
    this.queue = new AsyncQueue(store, this.registry, this.supervisor, this.webhooks, this.logs, {
      maxOutstanding: options.asyncMaxOutstanding,
      predictTimeoutMs: options.asyncPredictTimeoutSeconds * 1000,
      retentionMs: options.asyncRetentionSeconds * 1000,
      keepOutputs: options.asyncKeepOutputs,
      allowPrivateWebhooks: options.allowPrivateWebhooks,
    });
    this.usage = new UsageMeter(store);
    this.server = createGatewayServer(this);
  }

  static async start(opts: StartOptions): Promise<Girder> {
    const options: GirderOptions = { ...DEFAULT_OPTIONS, ...opts, dataDir: resolve(opts.dataDir) };
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const users = ReplicaUsers.resolve(options.replicaUser, options.replicaUidBase);
    const sandbox = await Sandbox.create({
      mode: options.sandbox,
      dataDir: options.dataDir,
      users,
      readOnly: options.sandboxReadOnly.map((p) => resolve(p)),
    });
    const g = new Girder(options, SqliteStore.open(join(options.dataDir, 'girder.db')), sandbox);
    // Now that the store, logs/ and run/ exist: nothing in the data dir is for anyone but Girder.
    for (const w of secureDataDir(options.dataDir, sandbox.dataDirTraversable)) console.error(`girder: warning: ${w}`);
    await Promise.all([
      g.registry.load(),
      g.chainRegistry.load(),
      g.keys.load(),
      g.secrets.load(),
      g.webhookSecrets.load(),
    ]);
    await g.#ensureAdminKey(opts.apiKey);
    await g.server.listen(options.port, options.host);
    g.supervisor.start();
    g.builder.start();
    await g.queue.start();
    return g;
  }

  async #ensureAdminKey(envKey: string | undefined): Promise<void> {
    if (envKey) {
      await this.keys.register(envKey, { type: 'WORKSPACE_MANAGE_ALL', name: 'girder-api-key-env' });
      return;
    }
    const file = join(this.options.dataDir, 'admin-key');
    if (existsSync(file) || this.keys.list().length) return;
    const { key } = await this.keys.create({ type: 'WORKSPACE_MANAGE_ALL', name: 'admin' });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    this.newAdminKey = key;
  }

  get url(): string {
    const { port } = this.server.address();
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Stops accepting requests, stops every replica, and closes the store. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.server.close();
      const builds = this.builder.close();
      // The queue stops first: requests in flight stay IN_PROGRESS on disk and run again at the next start.
      await this.queue.close();
      const replicas = this.supervisor.close();
      // In-flight requests end with the replicas; idle keep-alive sockets go now.
      this.server.closeIdleConnections();
      await replicas;
      this.server.closeAllConnections();
      // builds are stopped; their tools gone and half builds removed, they write nothing more
      await Promise.all([builds, this.logs.close(), this.webhooks.close(), this.usage.close()]);
      await this.store.close();
    })();
    return this.#closed;
  }
}
