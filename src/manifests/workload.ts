/**
 * Workload kinds (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob): their pod template,
 * how many pods they run, and who owns them.
 */
import { fail, show, type ObjectContext, type Warnings } from './context.js';
import { object, optBool, optInt, type Json } from './fields.js';
import { checkMeta, ownerRefs, type OwnerRef } from './meta.js';
import { dns1123Label, dns1123Subdomain } from './names.js';
import { convertPodShape, type PodShape } from './pod.js';
import { convertSelector } from './selector.js';
import { selectorMatches } from '../model/labels.js';

export const WORKLOAD_KINDS = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export interface WorkloadDraft {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly template: PodShape;
  /** Pods it runs; `perNode` for a DaemonSet (one on every node). */
  readonly count: number | 'perNode';
  /** StatefulSet `spec.ordinals.start` (default 0): the first pod is `<name>-<start>`. */
  readonly firstOrdinal: number;
  readonly owners: readonly OwnerRef[];
  readonly ctx: ObjectContext;
}

export function isWorkloadKind(kind: string): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly string[]).includes(kind);
}

export function convertWorkload(ctx: ObjectContext, kind: WorkloadKind, value: Json, warnings: Warnings): WorkloadDraft {
  // StatefulSet pod names become hostnames, so the set's name must be a DNS label.
  checkMeta(ctx, value, kind === 'StatefulSet' ? dns1123Label : dns1123Subdomain);
  const spec = object(ctx, value['spec'], 'spec');
  const templatePath = kind === 'CronJob' ? 'spec.jobTemplate.spec.template' : 'spec.template';
  const podSpecHolder = kind === 'CronJob' ? object(ctx, object(ctx, spec['jobTemplate'], 'spec.jobTemplate')['spec'], 'spec.jobTemplate.spec') : spec;
  const template = convertPodShape(ctx, object(ctx, podSpecHolder['template'], templatePath), templatePath, warnings);
  checkSelector(ctx, kind, spec, template);
  const ordinals = object(ctx, spec['ordinals'], 'spec.ordinals');
  const firstOrdinal = kind === 'StatefulSet' ? nonNegative(ctx, ordinals['start'], 'spec.ordinals.start') ?? 0 : 0;
  return {
    kind,
    namespace: ctx.source.namespace!,
    name: ctx.source.name,
    template,
    count: podCount(ctx, kind, spec),
    firstOrdinal,
    owners: ownerRefs(ctx, value),
    ctx,
  };
}

/** replicas default 1 (0 runs none); Job: parallelism default 1, none while suspended; CronJob: one. */
function podCount(ctx: ObjectContext, kind: WorkloadKind, spec: Json): number | 'perNode' {
  switch (kind) {
    case 'DaemonSet':
      return 'perNode';
    case 'CronJob':
      return 1;
    case 'Job': {
      const parallelism = nonNegative(ctx, spec['parallelism'], 'spec.parallelism') ?? 1;
      return optBool(ctx, spec['suspend'], 'spec.suspend') === true ? 0 : parallelism;
    }
    default:
      return nonNegative(ctx, spec['replicas'], 'spec.replicas') ?? 1;
  }
}

function nonNegative(ctx: ObjectContext, value: unknown, path: string): number | undefined {
  const n = optInt(ctx, value, path);
  if (n !== undefined && n < 0) fail(ctx, path, `must be greater than or equal to 0, got ${n}`);
  return n;
}

/**
 * apps/v1 requires `spec.selector` to match the template's labels ("selector does not match template
 * labels"); a workload whose selector misses its own pods is refused like the API server refuses it.
 */
function checkSelector(ctx: ObjectContext, kind: WorkloadKind, spec: Json, template: PodShape): void {
  if (kind === 'CronJob' || spec['selector'] == null) return;
  const selector = convertSelector(ctx, spec['selector'], 'spec.selector');
  if (!selectorMatches(selector, template.labels)) {
    fail(ctx, 'spec.template.metadata.labels', `${show(template.labels)} do not match spec.selector`);
  }
}
