/**
 * `metav1.LabelSelector` conversion and validation (apimachinery ValidateLabelSelector): matchLabels
 * keys and values, and each matchExpressions entry's key, operator and values.
 */
import type { LabelSelector, SelectorOperator, SelectorRequirement } from '../model/types.js';
import { fail, show, type ObjectContext } from './context.js';
import { list, object, optString } from './fields.js';
import { labels } from './meta.js';
import { labelKey, labelValue } from './names.js';

const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** Converts a selector object; `{}` (or absent, for callers that default it) selects everything. */
export function convertSelector(ctx: ObjectContext, value: unknown, path: string): LabelSelector {
  const raw = object(ctx, value, path);
  const matchLabels = labels(ctx, raw['matchLabels'], `${path}.matchLabels`);
  const exprs = list(ctx, raw['matchExpressions'], `${path}.matchExpressions`);
  const matchExpressions = exprs.map((e, i) => requirement(ctx, e, `${path}.matchExpressions[${i}]`));
  return { matchLabels, matchExpressions };
}

function requirement(ctx: ObjectContext, value: unknown, path: string): SelectorRequirement {
  const raw = object(ctx, value, path);
  const key = optString(ctx, raw['key'], `${path}.key`) ?? '';
  const badKey = labelKey(key);
  if (badKey !== null) fail(ctx, `${path}.key`, `invalid label key ${show(key)}: ${badKey}`);
  const operator = optString(ctx, raw['operator'], `${path}.operator`);
  if (operator === undefined || !(OPERATORS as readonly string[]).includes(operator)) {
    fail(ctx, `${path}.operator`, `Unsupported value ${show(operator)}: supported values: "In", "NotIn", "Exists", "DoesNotExist"`);
  }
  const values = list(ctx, raw['values'], `${path}.values`).map((v, i) => {
    const s = optString(ctx, v, `${path}.values[${i}]`) ?? '';
    const bad = labelValue(s);
    if (bad !== null) fail(ctx, `${path}.values[${i}]`, `invalid label value ${show(s)}: ${bad}`);
    return s;
  });
  checkValueCount(ctx, operator as SelectorOperator, values.length, `${path}.values`);
  return { key, operator: operator as SelectorOperator, values };
}

function checkValueCount(ctx: ObjectContext, operator: SelectorOperator, count: number, path: string): void {
  if ((operator === 'In' || operator === 'NotIn') && count === 0) {
    fail(ctx, path, `must be specified when \`operator\` is 'In' or 'NotIn'`);
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && count > 0) {
    fail(ctx, path, `may not be specified when \`operator\` is 'Exists' or 'DoesNotExist'`);
  }
}
