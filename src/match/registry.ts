/**
 * Builds a model's per-flow Dataplane by name: what `--model` chooses.
 */
import type { ClusterIndex } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import { InputError } from '../errors.js';
import type { Dataplane, ModelName } from './dataplane.js';
import { EbpfDataplane } from './ebpf-dataplane.js';
import { IptablesDataplane } from './iptables-dataplane.js';
import { ReferenceDataplane } from './reference.js';

export const MODEL_NAMES: readonly ModelName[] = ['reference', 'iptables', 'ebpf'];

export function parseModelName(text: string): ModelName {
  if ((MODEL_NAMES as readonly string[]).includes(text)) return text as ModelName;
  throw new InputError(`--model: unknown model ${JSON.stringify(text)}; expected one of ${MODEL_NAMES.join(', ')}`);
}

export function buildDataplane(model: ModelName, index: ClusterIndex, options: EvalOptions): Dataplane {
  switch (model) {
    case 'reference': return new ReferenceDataplane(index, options);
    case 'iptables': return new IptablesDataplane(index, options);
    case 'ebpf': return new EbpfDataplane(index, options);
  }
}
