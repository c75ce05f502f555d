// A bad flag value the command found itself (exit 2, like yargs' own refusals); shared.ts's reportError prints it.
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
