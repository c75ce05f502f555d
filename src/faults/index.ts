// Fault injection: rules that make an API answer an error, add latency, drop the connection or stall (rule.ts has
// the fields), set from broker.faults (JS), the HTTP admin API (http/) and `eddy fault`. franz-go's kfake control
// hooks (ControlKey, KeepControl, SleepControl, DropControl) are the model; these are data, so any language can
// set them.
//
// The one entry point is FaultInjector: server/dispatch.ts reads `armed` for every request (false while no rule
// can match, so the hot path costs one property check) and, only when it is true, lets handle() run the request.
//
//   handle(): the first active rule, in the order added, whose api, client id and topic/partition match acts:
//
//   action    what the client sees                                      then
//   error     the rule's code, per matched partition (partitions.ts)    —
//             or as the API's whole error response; an acks=0 Produce
//             gets no answer and the connection closes (Kafka closes
//             it on an acks=0 produce error so the client refreshes
//             its metadata)
//   latency   the normal answer, latencyMs later                        ends early on broker shutdown
//   drop      the connection closes, nothing is answered                —
//   stall     no answer until the rule is removed, cleared or expires   then the normal answer (bounded by
//             (the connection is held, as Kafka holds a muted channel)   MAX_STALL_MS)
//
// Every firing counts (`fired` in list()) and logs one info line, "fault injected", with the rule id. A rule with
// `count` is exhausted after that many firings and one with `durationMs` expires when its window ends; both stay
// listed until removed, so a test can still read how often they fired. No state is global: each broker has its own.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { ApiHandler, RequestContext } from '../handlers/types.js';
import { MAX_STALL_MS, normalizeFaultRule, type FaultRuleInfo, type FaultRuleSpec, type NormalizedFaultRule } from './rule.js';
import { mergeResponses, partitionErrorResponse, PARTITIONED_APIS, splitRequest } from './partitions.js';

export type { FaultRuleSpec, FaultRuleInfo, FaultAction } from './rule.js';
export { MAX_STALL_MS, MAX_LATENCY_MS } from './rule.js';

/** The JS API on the broker object (broker.faults). */
export interface FaultRules {
  /** Adds a rule; returns its id. Throws BrokerError INVALID_FAULT_RULE naming the bad field. */
  add(rule: FaultRuleSpec): number;
  /** Every rule, active or not, with how often it fired. */
  list(): FaultRuleInfo[];
  /** Removes a rule (its stalled requests are answered); false when there was none with that id. */
  remove(id: number): boolean;
  /** Removes every rule. */
  clear(): void;
}

class Rule {
  fired = 0;
  remaining: number | null;
  state: FaultRuleInfo['state'] = 'active';
  readonly addedAtMs = Date.now();
  readonly expiresAtMs: number | null;
  timer: NodeJS.Timeout | null = null;
  /** Resolves the stalled requests' wait (set while some are waiting). */
  private release: (() => void) | null = null;
  private released: Promise<void> | null = null;

  constructor(
    readonly id: number,
    readonly spec: NormalizedFaultRule,
  ) {
    this.remaining = spec.count;
    this.expiresAtMs = spec.durationMs === null ? null : this.addedAtMs + spec.durationMs;
  }

  /** A promise that resolves when the rule is removed or expires. */
  whenReleased(): Promise<void> {
    if (this.released === null) this.released = new Promise<void>((resolve) => (this.release = resolve));
    return this.released;
  }

  /** Ends every stall on this rule. */
  releaseStalls(): void {
    this.release?.();
    this.release = null;
  }

  info(): FaultRuleInfo {
    return {
      id: this.id,
      ...this.spec,
      fired: this.fired,
      remaining: this.remaining,
      state: this.state,
      addedAt: new Date(this.addedAtMs).toISOString(),
      expiresAt: this.expiresAtMs === null ? null : new Date(this.expiresAtMs).toISOString(),
    };
  }
}

export class FaultInjector implements FaultRules {
  /** True while some rule can still match: the one thing the request path reads when there are none. */
  armed = false;
  private readonly rules = new Map<number, Rule>();
  /** The active rules, in the order added. */
  private active: Rule[] = [];
  private nextId = 1;

  constructor(
    private readonly logger: Logger,
    private readonly shutdownSignal?: AbortSignal,
  ) {}

  add(spec: FaultRuleSpec): number {
    const rule = new Rule(this.nextId++, normalizeFaultRule(spec, PARTITIONED_APIS));
    this.rules.set(rule.id, rule);
    if (rule.expiresAtMs !== null) {
      rule.timer = setTimeout(() => this.retire(rule, 'expired'), rule.spec.durationMs!);
      rule.timer.unref();
    }
    this.refresh();
    this.logger.info({ fault: rule.info() }, 'fault rule added');
    return rule.id;
  }

  list(): FaultRuleInfo[] {
    return [...this.rules.values()].map((r) => r.info());
  }

  remove(id: number): boolean {
    const rule = this.rules.get(id);
    if (rule === undefined) return false;
    this.drop(rule);
    this.refresh();
    this.logger.info({ faultId: id }, 'fault rule removed');
    return true;
  }

  clear(): void {
    if (this.rules.size === 0) return;
    for (const rule of this.rules.values()) this.drop(rule);
    this.refresh();
    this.logger.info('fault rules cleared');
  }

  /** Runs a request while `armed` (dispatch.ts): the first matching rule acts, else the handler answers. */
  async handle(ctx: RequestContext, handler: ApiHandler, request: unknown): Promise<unknown> {
    for (const rule of this.active) {
      const spec = rule.spec;
      if (spec.apiKey !== ctx.apiKey || (spec.clientId !== null && spec.clientId !== ctx.clientId)) continue;
      let split = null;
      if (spec.topic !== null) {
        split = splitRequest(ctx.apiKey, request, spec.topic, spec.partition, ctx.broker);
        if (split === null) continue;
      }
      this.fire(rule, ctx);
      switch (spec.action) {
        case 'error':
          return this.answerError(ctx, handler, request, spec.errorCode!, split);
        case 'latency':
          await sleep(spec.latencyMs!, undefined, { signal: this.shutdownSignal, ref: false }).catch(() => undefined);
          return handler.handle(ctx, request);
        case 'drop':
          ctx.closeConnectionAfterResponse();
          return null;
        case 'stall':
          await this.stall(rule);
          return handler.handle(ctx, request);
      }
    }
    return handler.handle(ctx, request);
  }

  private async answerError(
    ctx: RequestContext,
    handler: ApiHandler,
    request: unknown,
    errorCode: number,
    split: { matched: unknown; rest: unknown | null } | null,
  ): Promise<unknown> {
    if (ctx.apiKey === ApiKey.Produce && (request as { acks: number }).acks === 0) {
      if (split?.rest != null) await handler.handle(ctx, split.rest);
      ctx.closeConnectionAfterResponse();
      return null;
    }
    if (!PARTITIONED_APIS.has(ctx.apiKey)) return handler.errorResponse(request, errorCode, ctx.apiVersion);
    const errors = partitionErrorResponse(ctx.apiKey, handler, split?.matched ?? request, errorCode, ctx.apiVersion);
    if (split === null || split.rest === null) return errors;
    const response = (await handler.handle(ctx, split.rest)) as Record<string, unknown>;
    return mergeResponses(ctx.apiKey, response, errors);
  }

  private async stall(rule: Rule): Promise<void> {
    const bound = new AbortController();
    const waitMs = Math.min(MAX_STALL_MS, rule.expiresAtMs === null ? MAX_STALL_MS : Math.max(0, rule.expiresAtMs - Date.now()));
    await Promise.race([rule.whenReleased(), sleep(waitMs, undefined, { signal: bound.signal, ref: false }).catch(() => undefined)]);
    bound.abort();
  }

  private fire(rule: Rule, ctx: RequestContext): void {
    rule.fired++;
    const spec = rule.spec;
    if (ctx.log.isLevelEnabled('info')) {
      ctx.log.info(
        { faultId: rule.id, api: spec.api, action: spec.action, error: spec.error ?? undefined, latencyMs: spec.latencyMs ?? undefined, topic: spec.topic ?? undefined, partition: spec.partition ?? undefined, correlationId: ctx.correlationId },
        'fault injected',
      );
    }
    if (rule.remaining !== null && --rule.remaining === 0) this.retire(rule, 'exhausted');
  }

  /** The rule stops matching; an exhausted stall rule keeps holding its requests until removed or expired. */
  private retire(rule: Rule, state: 'exhausted' | 'expired'): void {
    if (rule.state !== 'active') {
      if (state === 'expired') rule.releaseStalls();
      return;
    }
    rule.state = state;
    if (state === 'expired') {
      rule.timer = null;
      rule.releaseStalls();
    }
    this.refresh();
  }

  private drop(rule: Rule): void {
    if (rule.timer !== null) clearTimeout(rule.timer);
    rule.timer = null;
    rule.releaseStalls();
    this.rules.delete(rule.id);
  }

  private refresh(): void {
    this.active = [...this.rules.values()].filter((r) => r.state === 'active');
    this.armed = this.active.length > 0;
  }
}

/** Thrown by the HTTP API and CLI for an unknown rule id. */
export function unknownFaultRule(id: unknown): BrokerError {
  return new BrokerError('UNKNOWN_FAULT_RULE', `no fault rule with id ${JSON.stringify(id)}`);
}
