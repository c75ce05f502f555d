// Eddy's own version, read from Eddy's package.json (package-root.ts finds it above the code, wherever the code
// runs from), never from process.cwd(): `eddy --version` in another project must not print that project's.
import { OWN_PACKAGE } from './package-root.js';

/** The `version` field of Eddy's package.json ("unknown" if it cannot be read). */
export const EDDY_VERSION: string = OWN_PACKAGE?.version ?? 'unknown';
