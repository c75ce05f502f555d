// Replica placement for new partitions, as Kafka 3.9's KRaft controller does it (StripedReplicaPlacer), and the
// validation of explicit assignments (ReplicationControlManager.validateManualPartitionAssignment).
//
// Striped placement: brokers are grouped by rack (brokers without a rack form one group); racks are visited
// round-robin from a random offset that advances by one per partition, and inside each rack the brokers are taken
// round-robin from a random offset that also rotates. The first replica (the preferred leader) of each partition
// comes from a different rack and broker than the previous partition's, so leaders spread evenly; the other
// replicas come from the following racks, so with R racks and RF ≤ R no two replicas share a rack. When every
// broker has been a first replica once, racks and brokers are shuffled for the next round.
//
// Only usable brokers are given: registered and not in controlled shutdown (Kafka's usableBrokers). In Eddy a
// registered broker is never fenced (its key disappears with its lease), so every usable broker is unfenced.
//
// Errors (Kafka's wording, InvalidReplicationFactorException): RF ≤ 0 "Invalid replication factor N: the
// replication factor must be positive."; no usable broker "All brokers are currently fenced."; RF > brokers "The
// target replication factor of N cannot be reached because only M broker(s) are registered." The caller prefixes
// "Unable to replicate the partition N time(s): " for CreateTopics, as ReplicationControlManager does.
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';

export interface UsableBroker {
  brokerId: number;
  rack: string | null;
}

/** A source of random integers in [0, bound): Math.random by default, seeded in tests. */
export type RandomInt = (bound: number) => number;

const defaultRandom: RandomInt = (bound) => Math.floor(Math.random() * bound);

export class ReplicationFactorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicationFactorError';
  }
}

function shuffle<T>(items: T[], random: RandomInt): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

class BrokerList {
  readonly brokers: number[] = [];
  private index = 0;
  private offset = 0;
  private epoch = 0;

  initialize(random: RandomInt): void {
    if (this.brokers.length > 0) {
      this.brokers.sort((a, b) => a - b);
      this.offset = random(this.brokers.length);
    }
  }

  shuffle(random: RandomInt): void {
    shuffle(this.brokers, random);
  }

  /** The next broker of this list in placement round `epoch`, or -1 when the list has given all of them. */
  next(epoch: number): number {
    if (this.brokers.length === 0) return -1;
    if (this.epoch !== epoch) {
      this.epoch = epoch;
      this.index = 0;
      this.offset = (this.offset + 1) % this.brokers.length;
    }
    if (this.index >= this.brokers.length) return -1;
    const broker = this.brokers[(this.index + this.offset) % this.brokers.length]!;
    this.index++;
    return broker;
  }
}

class RackList {
  private readonly racks = new Map<string, BrokerList>();
  private readonly rackNames: string[] = [];
  readonly numBrokers: number;
  private epoch = 0;
  private offset: number;

  constructor(private readonly random: RandomInt, brokers: readonly UsableBroker[]) {
    for (const b of brokers) {
      // '' sorts before every rack name, like Kafka's Optional.empty() first.
      const name = b.rack ?? '';
      let rack = this.racks.get(name);
      if (rack === undefined) {
        rack = new BrokerList();
        this.racks.set(name, rack);
        this.rackNames.push(name);
      }
      rack.brokers.push(b.brokerId);
    }
    for (const rack of this.racks.values()) rack.initialize(random);
    this.rackNames.sort();
    this.numBrokers = brokers.length;
    this.offset = this.rackNames.length === 0 ? 0 : random(this.rackNames.length);
  }

  place(replicationFactor: number): number[] {
    if (this.epoch === this.numBrokers && this.numBrokers > 1) {
      shuffle(this.rackNames, this.random);
      for (const rack of this.racks.values()) rack.shuffle(this.random);
      this.epoch = 0;
    }
    if (this.offset === this.rackNames.length) this.offset = 0;
    const brokers: number[] = [];
    // The first replica: the first rack from `offset` that still has a broker this round.
    let firstRackIndex = this.offset;
    for (let tries = 0; ; tries++) {
      const result = this.racks.get(this.rackNames[firstRackIndex]!)!.next(this.epoch);
      if (result >= 0) {
        brokers.push(result);
        break;
      }
      firstRackIndex = (firstRackIndex + 1) % this.rackNames.length;
      if (tries > this.numBrokers * 2) throw new Error('replica placement found no first replica');
    }
    // The others: racks in order from `offset`, skipping the first replica's rack once.
    let rackIndex = this.offset;
    for (let replica = 1; replica < replicationFactor; replica++) {
      let result = -1;
      for (let tries = 0; result < 0; tries++) {
        if (rackIndex === firstRackIndex) {
          firstRackIndex = -1;
        } else {
          result = this.racks.get(this.rackNames[rackIndex]!)!.next(this.epoch);
        }
        rackIndex = (rackIndex + 1) % this.rackNames.length;
        if (tries > this.numBrokers * 4) throw new Error('replica placement ran out of brokers');
      }
      brokers.push(result);
    }
    this.epoch++;
    this.offset++;
    return brokers;
  }
}

/**
 * Replica lists for `numPartitions` new partitions (the first replica is the preferred leader). Throws
 * ReplicationFactorError with Kafka's message when the factor cannot be met.
 */
export function placeReplicas(
  brokers: readonly UsableBroker[],
  numPartitions: number,
  replicationFactor: number,
  random: RandomInt = defaultRandom,
): number[][] {
  if (replicationFactor <= 0) {
    throw new ReplicationFactorError(`Invalid replication factor ${replicationFactor}: the replication factor must be positive.`);
  }
  if (brokers.length === 0) throw new ReplicationFactorError('All brokers are currently fenced.');
  if (replicationFactor > brokers.length) {
    throw new ReplicationFactorError(
      `The target replication factor of ${replicationFactor} cannot be reached because only ${brokers.length} broker(s) are registered.`,
    );
  }
  const racks = new RackList(random, brokers);
  const out: number[][] = [];
  for (let p = 0; p < numPartitions; p++) out.push(racks.place(replicationFactor));
  return out;
}

/**
 * Validates one explicit replica list (Kafka's validateManualPartitionAssignment): non-empty, every broker
 * registered, no broker twice, and the same length as the other partitions (`replicationFactor` when known).
 * Throws KafkaError INVALID_REPLICA_ASSIGNMENT with Kafka's message.
 */
export function validateManualAssignment(
  replicas: readonly number[],
  isRegistered: (brokerId: number) => boolean,
  replicationFactor?: number,
): void {
  if (replicas.length === 0) {
    throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.');
  }
  const sorted = [...replicas].sort((a, b) => a - b);
  let previous: number | undefined;
  for (const brokerId of sorted) {
    if (!isRegistered(brokerId)) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes broker ${brokerId}, but no such broker is registered.`,
      );
    }
    if (brokerId === previous) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes the broker ${previous} more than once.`);
    }
    previous = brokerId;
  }
  if (replicationFactor !== undefined && sorted.length !== replicationFactor) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `The manual partition assignment includes a partition with ${sorted.length} replica(s), but this is not consistent with previous partitions, which have ${replicationFactor} replica(s).`,
    );
  }
}
