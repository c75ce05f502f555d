// The decisions behind DescribeConfigs, AlterConfigs and IncrementalAlterConfigs, for topic and broker resources, as
// a single Kafka 3.9 KRaft broker that is also the controller makes them (the broker's ConfigHelper and
// ConfigAdminManager.preprocess, then the controller's ConfigurationControlManager and
// ControllerConfigurationValidator). The handlers only translate wire types.
//
// Checks of an alteration, in Kafka's order; the first failure is the resource's answer:
//   resource   type other than TOPIC (2) / BROKER (4)      INVALID_REQUEST "Unknown resource type 8"
//              named twice in one request                 INVALID_REQUEST "Each resource must appear at most once." (each)
//   configs    a name twice                               INVALID_REQUEST "Error due to duplicate config keys"
//              a null value (except DELETE)               INVALID_REQUEST "Null value not supported for : a, b"
//              an unknown operation                        INVALID_REQUEST "Unknown operations type 7"
//   BROKER     name not an integer                        INVALID_REQUEST "Node id must be an integer, but it is: x"
//              another broker's id                        INVALID_REQUEST "Unexpected broker id, expected 1, but received 2"
//              APPEND/SUBTRACT on a non-LIST config       INVALID_CONFIG  "Config value append is not allowed for config key: x"
//              then dynamic-broker-config.ts validate     INVALID_REQUEST
//   TOPIC      APPEND/SUBTRACT on a non-LIST config       INVALID_CONFIG  "Can't APPEND to key x because its type is not LIST."
//              empty name                                 INVALID_REQUEST "Default topic resources are not allowed."
//              invalid name                               INVALID_TOPIC_EXCEPTION "Topic name is invalid: …"
//              the resulting configs (topic-config.ts)    INVALID_CONFIG  "Unknown topic config name: x", "Invalid value …"
//              the topic does not exist                   UNKNOWN_TOPIC_OR_PARTITION "The topic 'x' does not exist."
// AlterConfigs replaces the resource's whole set (names left out are deleted); IncrementalAlterConfigs changes only
// the names it lists. validateOnly runs every check and changes nothing.
//
// DescribeConfigs (ConfigHelper.describeConfigs): a topic reports every topic config: its own value
// (DYNAMIC_TOPIC_CONFIG) or the broker's fallback with that fallback's source; a broker "<node.id>" reports every
// broker config, "" (cluster default) only the configs set at that level. config_names null or empty means all; a
// name that the resource does not have is left out. An unknown topic is UNKNOWN_TOPIC_OR_PARTITION (no message), an
// invalid topic name INVALID_TOPIC_EXCEPTION, another broker id INVALID_REQUEST "Unexpected broker id, expected 1 or
// empty string, but received 2", a broker name that is not a number INVALID_REQUEST "Broker id must be an integer,
// but it is: x".
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ConfigResourceType, ConfigSource, TOPIC_CONFIG_DOCS } from './config-catalog.js';
import { OpType, javaSplit, type AlterConfigOp, type DescribedConfig, type DynamicBrokerConfig } from './dynamic-broker-config.js';
import { topicConfigType, topicConfigValueToString, validateTopicConfigs } from './topic-config.js';
import { topicNameProblem, type TopicRegistry } from './topic-registry.js';

export interface ConfigResourceRef {
  type: number;
  name: string;
}

export interface ResourceOutcome {
  errorCode: number;
  errorMessage: string | null;
}

export interface DescribeOutcome extends ResourceOutcome {
  configs: DescribedConfig[];
}

const OK: ResourceOutcome = { errorCode: ErrorCode.NONE, errorMessage: null };

function outcomeOf(err: unknown): ResourceOutcome {
  if (err instanceof KafkaError) return { errorCode: err.errorCode, errorMessage: err.message };
  throw err;
}

/** Integer.parseInt as Kafka's resource-name checks use it: a sign and decimal digits within int32. */
function parseJavaInt(s: string): number | null {
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return n >= -(2 ** 31) && n <= 2 ** 31 - 1 ? n : null;
}

export class ConfigAdmin {
  constructor(
    private readonly topics: TopicRegistry,
    private readonly brokerConfigs: DynamicBrokerConfig,
  ) {}

  /** The admin over the registry's topics and the dynamic broker configs it was opened with. */
  static forRegistry(topics: TopicRegistry): ConfigAdmin {
    const brokerConfigs = topics.brokerConfigs;
    if (brokerConfigs === undefined) throw new Error('the topic registry was opened without broker configs');
    return new ConfigAdmin(topics, brokerConfigs);
  }

  private get nodeId(): number {
    return this.brokerConfigs.nodeId;
  }

  /** One resource of a DescribeConfigs request. `configNames` null or empty: all. */
  describe(resource: ConfigResourceRef, configNames: readonly string[] | null): DescribeOutcome {
    let configs: DescribedConfig[];
    try {
      if (resource.type === ConfigResourceType.TOPIC) {
        const problem = topicNameProblem(resource.name);
        if (problem !== null) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
        const topic = this.topics.get(resource.name);
        if (topic === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, configs: [] };
        configs = this.describeTopic(topic.configs);
      } else if (resource.type === ConfigResourceType.BROKER) {
        if (resource.name === '') {
          configs = this.brokerConfigs.describe(false);
        } else {
          const id = parseJavaInt(resource.name);
          if (id === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${resource.name}`);
          if (id !== this.nodeId) {
            throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${this.nodeId} or empty string, but received ${resource.name}`);
          }
          configs = this.brokerConfigs.describe(true);
        }
      } else {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${resource.type}`);
      }
    } catch (err) {
      return { ...outcomeOf(err), configs: [] };
    }
    if (configNames !== null && configNames.length > 0) configs = configs.filter((c) => configNames.includes(c.name));
    return { ...OK, configs };
  }

  /** ConfigHelper.createTopicConfigEntry for every topic config. */
  private describeTopic(topicConfigs: Readonly<Record<string, string>>): DescribedConfig[] {
    const out: DescribedConfig[] = [];
    for (const [name, doc] of TOPIC_CONFIG_DOCS) {
      const set = Object.hasOwn(topicConfigs, name);
      const value = set ? topicConfigValueToString(name, topicConfigs[name]!) : this.brokerConfigs.topicDefault(name);
      const brokerSynonyms = doc.synonyms.length === 0 ? [] : this.brokerConfigs.synonymsOf(doc.synonyms[0]!.name);
      const synonyms = set ? [{ name, value, source: ConfigSource.DYNAMIC_TOPIC_CONFIG }, ...brokerSynonyms] : brokerSynonyms;
      out.push({
        name,
        value,
        readOnly: false,
        source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
        isSensitive: false,
        synonyms,
        type: topicConfigType(name)!,
        documentation: doc.doc,
      });
    }
    return out;
  }

  /**
   * The answer to each resource of an AlterConfigs (`ops` all SET, `replace` true) or IncrementalAlterConfigs
   * request, in request order.
   */
  async alter(
    resources: ReadonlyArray<{ type: number; name: string; ops: readonly AlterConfigOp[] }>,
    replace: boolean,
    validateOnly: boolean,
  ): Promise<ResourceOutcome[]> {
    const seen = new Map<string, number>();
    for (const r of resources) seen.set(`${r.type}:${r.name}`, (seen.get(`${r.type}:${r.name}`) ?? 0) + 1);
    const outcomes: ResourceOutcome[] = [];
    for (const r of resources) {
      if (seen.get(`${r.type}:${r.name}`)! > 1) {
        outcomes.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Each resource must appear at most once.' });
        continue;
      }
      try {
        this.preprocess(r.type, r.ops, replace);
        if (r.type === ConfigResourceType.BROKER) await this.alterBroker(r.name, r.ops, replace, validateOnly);
        else await this.alterTopic(r.name, r.ops, replace, validateOnly);
        outcomes.push(OK);
      } catch (err) {
        outcomes.push(outcomeOf(err));
      }
    }
    return outcomes;
  }

  /** ConfigAdminManager.preprocess: checks of the request itself, before any resource is looked at. */
  private preprocess(type: number, ops: readonly AlterConfigOp[], replace: boolean): void {
    const names = new Set<string>();
    for (const op of ops) {
      if (names.has(op.name)) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
      names.add(op.name);
    }
    const nulls = ops.filter((o) => (replace || o.op !== OpType.DELETE) && o.value === null).map((o) => o.name);
    if (nulls.length > 0) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${nulls.join(', ')}`);
    if (type !== ConfigResourceType.TOPIC && type !== ConfigResourceType.BROKER) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown resource type ${type}`);
    }
    const unknownOp = ops.find((o) => o.op < OpType.SET || o.op > OpType.SUBTRACT);
    if (unknownOp !== undefined) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown operations type ${unknownOp.op}`);
  }

  private async alterBroker(name: string, ops: readonly AlterConfigOp[], replace: boolean, validateOnly: boolean): Promise<void> {
    const perBroker = name !== '';
    if (perBroker) {
      const id = parseJavaInt(name);
      if (id === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Node id must be an integer, but it is: ${name}`);
      if (id !== this.nodeId) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${this.nodeId}, but received ${name}`);
    }
    const props = replace
      ? Object.fromEntries(ops.map((o) => [o.name, o.value!]))
      : this.brokerConfigs.applyIncremental(perBroker, ops);
    this.brokerConfigs.validate(perBroker, props);
    if (!validateOnly) await this.brokerConfigs.replace(perBroker, props);
  }

  private async alterTopic(name: string, ops: readonly AlterConfigOp[], replace: boolean, validateOnly: boolean): Promise<void> {
    await this.topics.alterTopicConfigs(
      name,
      (current) => {
        const next: Record<string, string> = replace ? {} : { ...current };
        for (const { name: key, op, value } of ops) {
          if (op === OpType.SET) next[key] = value!;
          else if (op === OpType.DELETE) delete next[key];
          else {
            // ConfigurationControlManager: only LIST configs split; the level's value, else the topic default.
            const verb = op === OpType.APPEND ? 'APPEND' : 'SUBTRACT';
            if (topicConfigType(key) !== 'LIST') throw new KafkaError(ErrorCode.INVALID_CONFIG, `Can't ${verb} to key ${key} because its type is not LIST.`);
            const parts = javaSplit(next[key] ?? TOPIC_CONFIG_DOCS.get(key)!.default).filter((p) => p !== '');
            for (const v of javaSplit(value!)) {
              if (op === OpType.APPEND) {
                if (!parts.includes(v)) parts.push(v);
              } else {
                const at = parts.indexOf(v);
                if (at >= 0) parts.splice(at, 1);
              }
            }
            next[key] = parts.join(',');
          }
        }
        if (name === '') throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Default topic resources are not allowed.');
        const problem = topicNameProblem(name);
        if (problem !== null) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
        return validateTopicConfigs(next);
      },
      validateOnly,
    );
  }
}
