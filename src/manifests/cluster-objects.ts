/**
 * Namespaces and Nodes: the two cluster-scoped kinds the model keeps.
 */
import { parseIp, type IpAddr } from '../model/ip.js';
import { fail, show, type ObjectContext } from './context.js';
import { list, object, optString, type Json } from './fields.js';
import { checkMeta, metadataLabels } from './meta.js';
import { dns1123Label, dns1123Subdomain } from './names.js';

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface NamespaceDraft {
  readonly name: string;
  readonly labels: Record<string, string>;
}

export interface NodeDraft {
  readonly name: string;
  readonly ips: readonly IpAddr[];
}

/**
 * `kubernetes.io/metadata.name` is set by the API server on every namespace and is immutable: added
 * when absent, refused when a manifest gives it another value.
 */
export function convertNamespace(ctx: ObjectContext, value: Json): NamespaceDraft {
  checkMeta(ctx, value, dns1123Label);
  const labels = metadataLabels(ctx, value);
  const given = labels[NAMESPACE_NAME_LABEL];
  if (given !== undefined && given !== ctx.source.name) {
    fail(ctx, `metadata.labels.${NAMESPACE_NAME_LABEL}`, `must be the namespace's name ${show(ctx.source.name)} (the label is immutable), got ${show(given)}`);
  }
  return { name: ctx.source.name, labels: { ...labels, [NAMESPACE_NAME_LABEL]: ctx.source.name } };
}

export function impliedNamespace(name: string): NamespaceDraft {
  return { name, labels: { [NAMESPACE_NAME_LABEL]: name } };
}

/** A Node's InternalIP and ExternalIP addresses (`status.addresses`); hostnames are not addresses. */
export function convertNode(ctx: ObjectContext, value: Json): NodeDraft {
  checkMeta(ctx, value, dns1123Subdomain);
  const status = object(ctx, value['status'], 'status');
  const ips: IpAddr[] = [];
  list(ctx, status['addresses'], 'status.addresses').forEach((a, i) => {
    const entry = object(ctx, a, `status.addresses[${i}]`);
    const type = optString(ctx, entry['type'], `status.addresses[${i}].type`);
    if (type !== 'InternalIP' && type !== 'ExternalIP') return;
    const text = optString(ctx, entry['address'], `status.addresses[${i}].address`) ?? '';
    const ip = parseIp(text);
    if (!ip) fail(ctx, `status.addresses[${i}].address`, `must be a valid IP address, got ${show(text)}`);
    ips.push(ip);
  });
  return { name: ctx.source.name, ips };
}
