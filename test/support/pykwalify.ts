/**
 * A validator with pykwalify's semantics for the subset of its schema language
 * that CfCT's manifest schema uses (test/fixtures/cfct-manifest-v2.schema.yaml):
 * `type` (map, seq, str, int, bool, date, any), `required`, `enum`, `unique`,
 * `mapping` (a key the mapping does not define is an error, as in pykwalify)
 * and `sequence` (one item schema). Documents are read as YAML 1.1, as CfCT's
 * PyYAML reads them (so `2021-03-15` is a date). Returns every error, each
 * with its path, pykwalify style (`/resources/0/name`).
 */
import { parse } from 'yaml';

interface Rule {
  readonly type?: string;
  readonly required?: boolean;
  readonly enum?: unknown[];
  readonly unique?: boolean;
  readonly mapping?: Record<string, Rule>;
  readonly sequence?: Rule[];
}

/** Reads a YAML document as CfCT does (YAML 1.1). */
export function readYaml11(text: string): unknown {
  return parse(text, { version: '1.1' });
}

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'map': return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
    case 'seq': return Array.isArray(v);
    case 'str': return typeof v === 'string';
    case 'int': return Number.isInteger(v);
    case 'bool': return typeof v === 'boolean';
    case 'date': return v instanceof Date;
    case 'any': return true;
    default: throw new Error(`the validator does not know the type ${type}`);
  }
}

const same = (a: unknown, b: unknown) => (a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b);

function check(rule: Rule, value: unknown, at: string, errors: string[]): void {
  if (value === undefined || value === null) {
    if (rule.required) errors.push(`${at || '/'}: required, but missing or empty`);
    return;
  }
  const type = rule.type ?? 'str';
  if (!typeOk(type, value)) {
    errors.push(`${at || '/'}: ${JSON.stringify(value)} is not of type ${type}`);
    return;
  }
  if (rule.enum && !rule.enum.some((e) => same(e, value))) {
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(rule.enum)}`);
  }
  if (type === 'map' && rule.mapping) {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (!(key in rule.mapping)) errors.push(`${at}/${key}: key is not defined in the schema`);
    }
    for (const [key, sub] of Object.entries(rule.mapping)) check(sub, obj[key], `${at}/${key}`, errors);
  }
  if (type === 'seq' && rule.sequence) {
    const item = rule.sequence[0];
    const items = value as unknown[];
    items.forEach((v, i) => check(item, v, `${at}/${i}`, errors));
    if (item.unique) {
      items.forEach((v, i) => {
        if (items.findIndex((w) => same(w, v)) !== i) errors.push(`${at}/${i}: ${JSON.stringify(v)} is not unique`);
      });
    }
  }
}

/** Every error of `document` against `schema` (both YAML texts); empty when it validates. */
export function validate(schema: string, document: string): string[] {
  const errors: string[] = [];
  check(readYaml11(schema) as Rule, readYaml11(document), '', errors);
  return errors;
}
