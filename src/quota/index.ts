// quota/: client quotas (KIP-13, KIP-55 user quotas, KIP-124 request quotas, KIP-219 channel throttling, KIP-612
// IP connection-creation rates) and the store behind DescribeClientQuotas / AlterClientQuotas.
//
//   sampled-rate.ts          Kafka's sampled Rate and the throttle-time formula
//   quota-entity.ts          entity types, keys and their validation
//   quota-store.ts           durable quotas (<dataDir>/client-quotas.json)
//   client-quota-manager.ts  one kind of quota for every client: precedence, shared rates
//   request-throttle.ts      what server/dispatch.ts calls: the Produce/Fetch byte rates, the request time
//   controller-mutation-quota.ts  controller_mutation_rate (KIP-599): partitions created or deleted per second, a
//                            token bucket that CreateTopics, CreatePartitions and DeleteTopics draw from
//
// The broker holds one QuotaManager (BrokerServices.quotas). `enabled` is false until a user/client-id quota exists
// (or existed since the start), and dispatch checks nothing else on a broker without quotas.
import type { Logger } from 'pino';
import { ClientQuotaManager } from './client-quota-manager.js';
import { ControllerMutationQuotaManager } from './controller-mutation-quota.js';
import { QuotaStore, type QuotaAlteration, type QuotaMap } from './quota-store.js';
import { CLIENT_ID, CONNECTION_CREATION_RATE, CONSUMER_BYTE_RATE, IP, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE, USER, entityFromKey } from './quota-entity.js';
import type { RateWindows } from './sampled-rate.js';

export { QuotaStore, type QuotaAlteration, type QuotaMap } from './quota-store.js';
export * from './quota-entity.js';
export { SampledRate, DEFAULT_RATE_WINDOWS, type RateWindows } from './sampled-rate.js';
export { ClientQuotaManager } from './client-quota-manager.js';
export { ControllerMutationQuotaManager, STRICT_SINCE_VERSION, THROTTLING_QUOTA_EXCEEDED_MESSAGE, type ControllerMutationQuota } from './controller-mutation-quota.js';

/** Kafka's IP_CONNECTION_RATE_DEFAULT: no per-IP connection-creation limit. */
export const UNLIMITED_CONNECTION_RATE = 2147483647;

export interface QuotaManagerOptions {
  dataDir: string;
  windows: RateWindows;
  logger: Logger;
}

export class QuotaManager {
  readonly produce: ClientQuotaManager;
  readonly fetch: ClientQuotaManager;
  readonly request: ClientQuotaManager;
  /** controller_mutation_rate; the topic admin handlers consult it themselves, so it is not part of `enabled`. */
  readonly controllerMutation: ControllerMutationQuotaManager;
  readonly windows: RateWindows;
  /** Any produce, fetch or request quota set since the start: dispatch's one check. */
  enabled = false;
  private ipRates = new Map<string, number>();
  private defaultIpRate = UNLIMITED_CONNECTION_RATE;
  private readonly managers: ReadonlyMap<string, Pick<ClientQuotaManager, 'updateQuota'>>;

  private constructor(
    private readonly store: QuotaStore,
    windows: RateWindows,
    private readonly logger: Logger,
  ) {
    this.windows = windows;
    this.produce = new ClientQuotaManager(PRODUCER_BYTE_RATE, windows);
    this.fetch = new ClientQuotaManager(CONSUMER_BYTE_RATE, windows);
    this.request = new ClientQuotaManager(REQUEST_PERCENTAGE, windows, windows.windowMs);
    this.controllerMutation = new ControllerMutationQuotaManager(windows);
    this.managers = new Map([this.produce, this.fetch, this.request, this.controllerMutation].map((m) => [m.quotaKey, m]));
    this.applyAll(new Map(), store.all());
  }

  static async open(options: QuotaManagerOptions): Promise<QuotaManager> {
    const store = await QuotaStore.open(options);
    return new QuotaManager(store, options.windows, options.logger);
  }

  /** Every stored entity with its values. */
  all(): QuotaMap {
    return this.store.all();
  }

  /** Stores the alterations (durable before this resolves), then enforces them. */
  async alter(alterations: readonly QuotaAlteration[]): Promise<void> {
    const before = this.store.all();
    const after = await this.store.apply(alterations);
    this.applyAll(before, after);
  }

  /** The connection_creation_rate of an address: its own, else the ip=<default> one, else unlimited. */
  connectionCreationRate(address: string): number {
    return this.ipRates.get(address) ?? this.defaultIpRate;
  }

  /** Any per-IP connection-creation rate set. */
  get ipQuotasEnabled(): boolean {
    return this.ipRates.size > 0 || this.defaultIpRate !== UNLIMITED_CONNECTION_RATE;
  }

  /** Pushes every changed (entity, key) into the managers, as ClientQuotaMetadataManager does per record. */
  private applyAll(before: QuotaMap, after: QuotaMap): void {
    const entities = new Set([...before.keys(), ...after.keys()]);
    const ipRates = new Map<string, number>();
    let defaultIpRate = UNLIMITED_CONNECTION_RATE;
    for (const key of entities) {
      const entity = entityFromKey(key);
      const oldValues = before.get(key);
      const newValues = after.get(key);
      if (entity.has(IP)) {
        const rate = newValues?.get(CONNECTION_CREATION_RATE);
        if (rate === undefined) continue;
        const ip = entity.get(IP)!;
        if (ip === null) defaultIpRate = rate;
        else ipRates.set(ip, rate);
        continue;
      }
      for (const [quotaKey, manager] of this.managers) {
        const oldValue = oldValues?.get(quotaKey);
        const newValue = newValues?.get(quotaKey);
        if (oldValue === newValue) continue;
        manager.updateQuota(entity.get(USER), entity.get(CLIENT_ID), newValue ?? null);
        this.logger.info({ entity: Object.fromEntries(entity), key: quotaKey, value: newValue ?? null }, newValue === undefined ? 'client quota removed' : 'client quota set');
      }
    }
    this.ipRates = ipRates;
    this.defaultIpRate = defaultIpRate;
    this.enabled = this.produce.quotasEnabled || this.fetch.quotasEnabled || this.request.quotasEnabled;
  }
}
