/** Builds the broker once (`npm run build`) before the compat suites spawn `dist/cli/main.js`. */
import { buildBroker } from '../test/helpers/spawn-broker.js';

export default function setup(): void {
  buildBroker();
}
