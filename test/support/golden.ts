/**
 * Golden files: compiled output compared byte for byte with test/golden/<model>/<scenario>/<file>.
 * `UPDATE_GOLDEN=1` rewrites them (then review the diff like any other change).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';

const GOLDEN_ROOT = join(import.meta.dirname, '..', 'golden');
const update = process.env['UPDATE_GOLDEN'] === '1';

export function expectGolden(model: string, scenario: string, outputs: Readonly<Record<string, string>>): void {
  for (const [file, text] of Object.entries(outputs)) {
    const path = join(GOLDEN_ROOT, model, scenario, file);
    if (update) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    expect(existsSync(path), `${path} missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(text, `${scenario}/${file}`).toBe(readFileSync(path, 'utf8'));
  }
}
