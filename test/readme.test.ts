// README's supported-API table is generated from the handler registry; this fails when it is stale
// (fix: `npm run gen:api-table`).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderApiTable, updateReadme } from '../scripts/generate-api-table.js';
import { HANDLERS } from '../src/handlers/index.js';

describe('README', () => {
  const readme = readFileSync(path.resolve(__dirname, '../README.md'), 'utf8');

  it('has the two commands a new user needs', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });

  it('lists every registered API with its versions, as the registry says', () => {
    expect(updateReadme(readme)).toBe(readme);
    for (const h of HANDLERS.values()) expect(renderApiTable()).toContain(`| ${h.apiKey} | ${h.name} | ${h.minVersion}–${h.maxVersion} |`);
  });
});
