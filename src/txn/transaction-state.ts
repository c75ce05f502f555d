// The states of a transactional id, with Kafka's names (DescribeTransactions and ListTransactions report them) and
// wire ids (TransactionLogValue.TransactionStatus), and the one function that checks every transition
// (Kafka 3.9 TransactionMetadata.scala: TransactionState.validPreviousStates, checked in prepareTransitionTo).
//
//   state               id  entered from                                   entered by
//   Empty               0   Empty, CompleteCommit, CompleteAbort            InitProducerId (epoch bump, new producer id)
//   Ongoing             1   Ongoing, Empty, CompleteCommit, CompleteAbort   AddPartitionsToTxn, AddOffsetsToTxn
//   PrepareCommit       2   Ongoing                                        EndTxn(commit)
//   PrepareAbort        3   Ongoing, PrepareEpochFence                      EndTxn(abort), fencing, timeout
//   CompleteCommit      4   PrepareCommit                                  every COMMIT marker written
//   CompleteAbort       5   PrepareAbort                                   every ABORT marker written
//   Dead                6   Empty, CompleteAbort, CompleteCommit            transactional.id.expiration.ms
//   PrepareEpochFence   7   Ongoing                                        InitProducerId or a timeout fencing an
//                                                                          ongoing transaction (never written: it only
//                                                                          ever is a pending state, followed by
//                                                                          PrepareAbort with the bumped epoch)
//
// Expiration (Dead) is allowed only from Empty, CompleteCommit and CompleteAbort (isExpirationAllowed).

export type TransactionState =
  | 'Empty'
  | 'Ongoing'
  | 'PrepareCommit'
  | 'PrepareAbort'
  | 'CompleteCommit'
  | 'CompleteAbort'
  | 'Dead'
  | 'PrepareEpochFence';

/** Wire ids (TransactionLogValue.TransactionStatus), in id order. */
const STATES_BY_ID: readonly TransactionState[] = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
  'PrepareEpochFence',
];

const VALID_PREVIOUS_STATES: Readonly<Record<TransactionState, readonly TransactionState[]>> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing', 'PrepareEpochFence'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteAbort', 'CompleteCommit'],
  PrepareEpochFence: ['Ongoing'],
};

/**
 * A transition Kafka never makes, or transaction metadata that contradicts itself: a bug (Kafka's
 * IllegalStateException), never a client's mistake, which is always an error code.
 */
export class TransactionStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransactionStateError';
  }
}

export const ALL_TRANSACTION_STATES: readonly TransactionState[] = STATES_BY_ID;

export function transactionStateId(state: TransactionState): number {
  return STATES_BY_ID.indexOf(state);
}

/** TransactionState.fromId: throws TransactionStateError for an id Kafka does not define. */
export function transactionStateFromId(id: number): TransactionState {
  const state = STATES_BY_ID[id];
  if (state === undefined) throw new TransactionStateError(`Unknown transaction state id ${id} from the transaction status message`);
  return state;
}

/** TransactionState.fromName (ListTransactions state filters): undefined for an unknown name. */
export function transactionStateFromName(name: string): TransactionState | undefined {
  return (STATES_BY_ID as readonly string[]).includes(name) ? (name as TransactionState) : undefined;
}

/** May a transactional id in this state expire (become Dead)? */
export function isExpirationAllowed(state: TransactionState): boolean {
  return state === 'Empty' || state === 'CompleteCommit' || state === 'CompleteAbort';
}

/**
 * The one transition check: returns `target` when `current` is among its valid previous states, otherwise throws
 * TransactionStateError (Kafka's prepareTransitionTo throws IllegalStateException).
 */
export function checkTransition(current: TransactionState, target: TransactionState): TransactionState {
  if (!VALID_PREVIOUS_STATES[target].includes(current)) {
    throw new TransactionStateError(
      `cannot move a transaction from ${current} to ${target}: ${target} may only follow ${VALID_PREVIOUS_STATES[target].join(', ')}`,
    );
  }
  return target;
}
