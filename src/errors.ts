// Two kinds of failure, kept apart on purpose (STYLE.md §9):
// - KafkaError: an expected domain condition with a Kafka error code (offset out of range, corrupt batch…).
//   Domain modules throw it; handlers map it to the response's error code in one place.
// - BrokerError: a failure outside the Kafka protocol (bad config, bad CLI argument, startup failure) with a
//   stable string `code` that tests assert instead of the message.
import { errorName } from './protocol/error-codes.js';

export class KafkaError extends Error {
  readonly errorCode: number;

  constructor(errorCode: number, message?: string) {
    super(message ?? errorName(errorCode));
    this.name = 'KafkaError';
    this.errorCode = errorCode;
  }
}

/** One rejected record of a produced batch: ProduceResponse v8+ `recordErrors` (KIP-467). */
export interface RecordError {
  /** The record's index in its batch. */
  batchIndex: number;
  batchIndexErrorMessage: string | null;
}

/**
 * A batch refused because some of its records broke a topic's rules (Kafka's RecordValidationException): the
 * partition's error code (INVALID_RECORD or INVALID_TIMESTAMP), the partition's `errorMessage` (this message), and
 * one RecordError per refused record. Malformed records are a plain KafkaError: Kafka names no record for those.
 */
export class RecordValidationError extends KafkaError {
  readonly recordErrors: RecordError[];

  constructor(errorCode: number, message: string, recordErrors: RecordError[]) {
    super(errorCode, message);
    this.name = 'RecordValidationError';
    this.recordErrors = recordErrors;
  }
}

export class BrokerError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrokerError';
    this.code = code;
  }
}

/** The Kafka error code carried by `err`, or undefined when `err` is not a KafkaError. */
export function kafkaErrorCode(err: unknown): number | undefined {
  return err instanceof KafkaError ? err.errorCode : undefined;
}

/** True for an operating-system I/O failure (EIO, ENOSPC, EBADF…): Kafka answers those with KAFKA_STORAGE_ERROR. */
export function isStorageError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}
