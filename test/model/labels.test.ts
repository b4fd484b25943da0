import { describe, expect, test } from 'vitest';
import { formatSelector, isEmptySelector, selectorMatches } from '../../src/model/labels.js';
import type { SelectorOperator } from '../../src/model/types.js';
import { selector } from '../support/builders.js';

const req = (key: string, operator: SelectorOperator, ...values: string[]) => selector({ matchExpressions: [{ key, operator, values }] });

describe('selectorMatches (metav1.LabelSelector semantics)', () => {
  test('the empty selector matches everything, empty labels included', () => {
    expect(selectorMatches(selector(), {})).toBe(true);
    expect(selectorMatches(selector(), { app: 'web' })).toBe(true);
  });

  test('matchLabels: every pair must be present with that value', () => {
    const s = selector({ matchLabels: { app: 'web', tier: 'fe' } });
    expect(selectorMatches(s, { app: 'web', tier: 'fe', extra: 'x' })).toBe(true);
    expect(selectorMatches(s, { app: 'web' })).toBe(false);
    expect(selectorMatches(s, { app: 'web', tier: 'be' })).toBe(false);
    expect(selectorMatches(selector({ matchLabels: { app: '' } }), { app: '' })).toBe(true);
    expect(selectorMatches(selector({ matchLabels: { app: '' } }), {})).toBe(false);
  });

  // Each operator against: key with a listed value, key with another value, key absent.
  test.each([
    ['In', ['a', 'b'], [true, false, false]],
    ['NotIn', ['a', 'b'], [false, true, true]],
    ['Exists', [], [true, true, false]],
    ['DoesNotExist', [], [false, false, true]],
  ] as const)('%s', (operator, values, expected) => {
    const s = req('k', operator, ...values);
    expect(([{ k: 'a' }, { k: 'z' }, { other: 'a' }] as Record<string, string>[]).map((labels) => selectorMatches(s, labels))).toEqual(expected);
  });

  test('matchLabels and all expressions are ANDed', () => {
    const s = selector({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'stage'] }, { key: 'legacy', operator: 'DoesNotExist' }],
    });
    expect(selectorMatches(s, { app: 'web', env: 'prod' })).toBe(true);
    expect(selectorMatches(s, { app: 'web', env: 'prod', legacy: 'true' })).toBe(false);
    expect(selectorMatches(s, { app: 'web', env: 'dev' })).toBe(false);
    expect(selectorMatches(s, { app: 'api', env: 'prod' })).toBe(false);
  });

  test('keys that are Object.prototype names are not present unless set', () => {
    expect(selectorMatches(req('constructor', 'Exists'), {})).toBe(false);
    expect(selectorMatches(req('toString', 'DoesNotExist'), {})).toBe(true);
    expect(selectorMatches(req('hasOwnProperty', 'NotIn', 'x'), {})).toBe(true);
    expect(selectorMatches(selector({ matchLabels: { constructor: 'x' } }), {})).toBe(false);
    expect(selectorMatches(req('constructor', 'In', 'x'), { constructor: 'x' })).toBe(true);
  });
});

describe('isEmptySelector and formatSelector', () => {
  test('isEmptySelector', () => {
    expect(isEmptySelector(selector())).toBe(true);
    expect(isEmptySelector(selector({ matchLabels: { a: 'b' } }))).toBe(false);
    expect(isEmptySelector(req('a', 'Exists'))).toBe(false);
  });

  test('formatSelector renders kubectl-like text, matchLabels sorted', () => {
    expect(formatSelector(selector())).toBe('{}');
    const s = selector({
      matchLabels: { tier: 'fe', app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['a', 'b'] }, { key: 'zone', operator: 'NotIn', values: ['x'] },
        { key: 'ready', operator: 'Exists' }, { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    expect(formatSelector(s)).toBe('app=web,tier=fe,env in (a,b),zone notin (x),ready,!legacy');
  });
});
