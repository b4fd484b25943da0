/**
 * Without the addon netsieve goes on in TypeScript and says so once: the loader reports why it has no
 * addon (NETSIEVE_NATIVE=off, a missing build), chooseEngine picks 'js' with a single one-line notice per
 * process, `--engine js` never asks for the addon, and a bad `--engine` value is an InputError.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { ADDON_FUNCTIONS, chooseEngine, loadNative, missingFunctions, parseEngine, resetNativeNotice } from '../../src/native/load.js';

afterEach(() => resetNativeNotice());

describe('the native loader and the TypeScript fallback', () => {
  it('NETSIEVE_NATIVE=off: no addon, and the reason says so', () => {
    const r = loadNative({ NETSIEVE_NATIVE: 'off' });
    expect(r.addon).toBeNull();
    expect('reason' in r && r.reason).toBe('NETSIEVE_NATIVE=off');
  });

  it('a package without a built addon: no addon, the reason names the missing file', () => {
    const root = mkdtempSync(join(tmpdir(), 'ns-nonative-'));
    mkdirSync(join(root, 'native'));
    writeFileSync(join(root, 'native', 'binding.gyp'), '{}');
    const r = loadNative({}, root);
    expect(r.addon).toBeNull();
    expect('reason' in r && r.reason).toMatch(/native\/build\/Release\/netsieve\.node is missing/);
  });

  it('a file that is not an addon: no addon, the reason says it failed to load', () => {
    const root = mkdtempSync(join(tmpdir(), 'ns-badnative-'));
    mkdirSync(join(root, 'native', 'build', 'Release'), { recursive: true });
    writeFileSync(join(root, 'native', 'binding.gyp'), '{}');
    writeFileSync(join(root, 'native', 'build', 'Release', 'netsieve.node'), 'not a shared object');
    const r = loadNative({}, root);
    expect(r.addon).toBeNull();
    expect('reason' in r && r.reason).toMatch(/failed to load/);
  });

  it('an addon built from older sources is refused by name; the list is every function the addon exports', () => {
    const stale = Object.fromEntries(ADDON_FUNCTIONS.filter((f) => f !== 'tablePlace' && f !== 'quickShards').map((f) => [f, () => 0]));
    expect(missingFunctions(stale)).toEqual(['tablePlace', 'quickShards']);
    expect(missingFunctions({ ...stale, tablePlace: 1, quickShards: () => 0 })).toEqual(['tablePlace']);
    const real = loadNative({});
    if (real.addon === null) {
      expect(process.env['NETSIEVE_NATIVE']).toBe('off');
      return;
    }
    const exported = Object.entries(real.addon).filter(([, v]) => typeof v === 'function').map(([k]) => k).sort();
    expect(exported).toEqual([...ADDON_FUNCTIONS].sort());
  });

  it('the default engine falls back to js with one notice per process, of one line', () => {
    const lines: string[] = [];
    const off = loadNative({ NETSIEVE_NATIVE: 'off' });
    const first = chooseEngine(undefined, off, (l) => lines.push(l));
    const second = chooseEngine('native', off, (l) => lines.push(l));
    expect(first).toEqual({ engine: 'js', addon: null });
    expect(second.engine).toBe('js');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe('netsieve: native engine unavailable (NETSIEVE_NATIVE=off); using the TypeScript engine');
    expect(lines[0]).not.toContain('\n');
  });

  it('--engine js never loads or mentions the addon; native is the default when it loads', () => {
    const lines: string[] = [];
    expect(chooseEngine('js', loadNative({ NETSIEVE_NATIVE: 'off' }), (l) => lines.push(l)).engine).toBe('js');
    expect(lines).toEqual([]);
    const real = loadNative({});
    if (real.addon !== null) {
      const chosen = chooseEngine(undefined, real, (l) => lines.push(l));
      expect(chosen.engine).toBe('native');
      expect(chosen.addon).toBe(real.addon);
      expect(lines).toEqual([]);
    } else {
      expect(process.env['NETSIEVE_NATIVE']).toBe('off'); // only a deliberate fallback run may lack it
    }
  });

  it('--engine accepts native and js, and refuses anything else with an InputError', () => {
    expect(parseEngine(undefined)).toBeUndefined();
    expect(parseEngine('native')).toBe('native');
    expect(parseEngine('js')).toBe('js');
    expect(() => parseEngine('gpu')).toThrow(InputError);
    expect(() => parseEngine('gpu')).toThrow('--engine: "gpu" is not native or js');
  });
});
