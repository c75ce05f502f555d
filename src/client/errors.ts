// Errors the client raises, kept apart so the CLI can print each as one line and pick its exit code:
//
//   class                 when                                              printed as
//   KafkaClientError      a response carried a Kafka error code              NAME: message
//   ConnectionError       a socket could not be opened, or closed/timed out  cannot connect to host:port: ECONNREFUSED
//   UnsupportedApiError   the broker does not offer an API version we can    UNSUPPORTED_VERSION: The version of API is
//                         speak (from its ApiVersions answer)                not supported. (CreatePartitions is not
//                                                                            supported by the broker)
//
// The name and default message are Kafka's (Errors enum); a response's own errorMessage wins over the default.
import { ErrorCode, RETRIABLE_ERROR_CODES, errorName } from '../protocol/error-codes.js';
import { errorMessage } from './error-messages.js';

export class KafkaClientError extends Error {
  readonly errorCode: number;
  /** Kafka's enum name, e.g. UNKNOWN_TOPIC_OR_PARTITION. */
  readonly errorName: string;
  readonly retriable: boolean;

  constructor(errorCode: number, message?: string | null) {
    const text = message !== undefined && message !== null && message !== '' ? message : errorMessage(errorCode);
    super(text === '' ? errorName(errorCode) : `${errorName(errorCode)}: ${text}`);
    this.name = 'KafkaClientError';
    this.errorCode = errorCode;
    this.errorName = errorName(errorCode);
    this.retriable = RETRIABLE_ERROR_CODES.has(errorCode);
  }
}

export class UnsupportedApiError extends KafkaClientError {
  readonly apiName: string;

  constructor(apiName: string, detail: string) {
    super(ErrorCode.UNSUPPORTED_VERSION, `${errorMessage(ErrorCode.UNSUPPORTED_VERSION)} (${apiName} ${detail})`);
    this.name = 'UnsupportedApiError';
    this.apiName = apiName;
  }
}

export class ConnectionError extends Error {
  readonly host: string;
  readonly port: number;
  /** The errno code (ECONNREFUSED, ETIMEDOUT, ECONNRESET…) or a short reason. */
  readonly reason: string;

  constructor(host: string, port: number, reason: string, what = 'cannot connect to') {
    super(`${what} ${host}:${port}: ${reason}`);
    this.name = 'ConnectionError';
    this.host = host;
    this.port = port;
    this.reason = reason;
  }
}

/** Throws a KafkaClientError unless `code` is NONE. */
export function throwIfError(code: number | undefined, message?: string | null): void {
  if (code !== undefined && code !== ErrorCode.NONE) throw new KafkaClientError(code, message);
}
