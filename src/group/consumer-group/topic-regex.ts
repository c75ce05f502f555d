// Regular-expression subscriptions of consumer-protocol groups (KIP-848 ConsumerGroupHeartbeat v1
// SubscribedTopicRegex). Kafka 4.0 compiles them with RE2/J (com.google.re2j.Pattern.compile, no flags) and a
// topic matches when the whole name matches (`pattern.matcher(topic).matches()`); internal topics
// (__consumer_offsets, __transaction_state) never match. An expression RE2/J refuses (PatternSyntaxException)
// answers INVALID_REGULAR_EXPRESSION.
//
// The engine is re2js, the JavaScript port of RE2/J: the same syntax (POSIX classes, \pL, inline flags anywhere,
// \Q…\E, \z; no backreferences, lookaround or possessive quantifiers) and linear-time matching, so an expression
// such as `(a+)+$` cannot make a heartbeat backtrack. It is loaded on the first regex (loadTopicRegexEngine), so a
// broker without regex subscribers never pays its module load; compileTopicRegex needs it loaded first.
import { KafkaError } from '../../errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';

type Re2js = typeof import('re2js');

/** A compiled subscription: whole-name matching. */
export interface TopicRegex {
  matches(topic: string): boolean;
}

let engine: Re2js | undefined;
let loading: Promise<Re2js> | undefined;

/** Loads re2js once (a dynamic import); later calls resolve at once. */
export async function loadTopicRegexEngine(): Promise<void> {
  if (engine !== undefined) return;
  loading ??= import('re2js');
  engine = await loading;
}

export function isTopicRegexEngineLoaded(): boolean {
  return engine !== undefined;
}

/**
 * Compiles the expression, or throws KafkaError(INVALID_REGULAR_EXPRESSION) when RE2 refuses it. Throws an Error if
 * loadTopicRegexEngine() has not completed (a bug: every path that brings a regex in awaits it first).
 */
export function compileTopicRegex(regex: string): TopicRegex {
  if (engine === undefined) throw new Error('re2js is not loaded: await loadTopicRegexEngine() first');
  try {
    const pattern = engine.RE2JS.compile(regex);
    return { matches: (topic) => pattern.matches(topic) };
  } catch (err) {
    if (err instanceof engine.RE2JSSyntaxException) {
      throw new KafkaError(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex \`${regex}\` is not a valid regular expression: ${err.message}.`);
    }
    throw err;
  }
}

/** Kafka's Topic.isInternal: topics a regular expression never subscribes to. */
export function isRegexExcludedTopic(name: string): boolean {
  return name === '__consumer_offsets' || name === '__transaction_state';
}
