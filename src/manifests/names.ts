/**
 * The API server's syntax rules for names, label keys and values, and ports
 * (k8s.io/apimachinery/pkg/util/validation). Each check returns the reason a value is refused, or null.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export type NameCheck = (value: string) => string | null;

/** Namespace names, Service-adjacent names: at most 63 characters. */
export const dns1123Label: NameCheck = (v) => {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(v)) {
    return 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character';
  }
  return null;
};

/** Most object names (Pod, Deployment, NetworkPolicy): at most 253 characters, dot-separated labels. */
export const dns1123Subdomain: NameCheck = (v) => {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(v)) {
    return 'a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character';
  }
  return null;
};

/** Service names: they become DNS labels, so they must start with a letter. */
export const dns1035Label: NameCheck = (v) => {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS1035_LABEL.test(v)) {
    return 'a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character';
  }
  return null;
};

/** Label keys: `[prefix/]name`, prefix a DNS subdomain, name 1-63 characters. */
export const labelKey: NameCheck = (v) => {
  const parts = v.split('/');
  if (parts.length > 2) return 'a label key must be a name with an optional DNS subdomain prefix and one \'/\' (e.g. \'example.com/MyName\')';
  const name = parts[parts.length - 1]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === '') return 'prefix part must be non-empty';
    const bad = dns1123Subdomain(prefix);
    if (bad !== null) return `prefix part ${bad}`;
  }
  if (name === '') return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(name)) {
    return 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character';
  }
  return null;
};

export const labelValue: NameCheck = (v) => {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(v)) {
    return 'a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character';
  }
  return null;
};

/** IANA_SVC_NAME (RFC 6335): the syntax of named container ports and of named policy ports. */
export const portName: NameCheck = (v) => {
  if (v.length > 15) return 'must be no more than 15 characters';
  if (!/^[-a-z0-9]+$/.test(v)) return 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)';
  if (!/[a-z]/.test(v)) return 'must contain at least one letter (a-z)';
  if (v.includes('--')) return 'must not contain consecutive hyphens';
  if (v.startsWith('-') || v.endsWith('-')) return 'must not begin or end with a hyphen';
  return null;
};

export function portNumber(n: number): string | null {
  return n >= 1 && n <= 65535 ? null : 'must be between 1 and 65535, inclusive';
}
