/**
 * Resource-level differences between two Terraform states (format version 4): which
 * resource instances were added, removed or changed (and which of their attributes), and
 * which outputs changed. State holds secrets: a value is only ever given when asked for,
 * and never the value of an attribute Terraform marks sensitive (`sensitive_attributes`)
 * or of a sensitive output.
 */

/** One resource instance as the diff addresses it. */
interface Instance {
  readonly address: string;
  readonly attributes: Record<string, unknown>;
  /** Top-level attribute names under which some value is sensitive. */
  readonly sensitive: ReadonlySet<string>;
}

export type ChangeKind = 'added' | 'removed' | 'changed';

/** The value of one attribute or output, on each side; `sensitive` ones never carry values. */
export type ValueChange = { readonly sensitive: true } | { readonly sensitive: false; readonly from: unknown; readonly to: unknown };

export interface ResourceChange {
  /** `module.net.aws_subnet.this["a"]`, `data.aws_caller_identity.current`, `terraform_data.app[0]`. */
  readonly address: string;
  readonly change: ChangeKind;
  /** The top-level attribute names that differ (changed), or that it has (added, removed). */
  readonly attributes: readonly string[];
  /** With values: each changed attribute's values (sensitive ones marked, without values). */
  readonly values?: Readonly<Record<string, ValueChange>>;
}

export interface OutputChange {
  readonly name: string;
  readonly change: ChangeKind;
  readonly sensitive: boolean;
  /** With values, for a non-sensitive output. */
  readonly from?: unknown;
  readonly to?: unknown;
}

export interface StateDiff {
  readonly resources: readonly ResourceChange[];
  readonly outputs: readonly OutputChange[];
}

/** Why a body cannot be diffed, or its parsed form. */
interface ParsedState {
  readonly instances: Map<string, Instance>;
  readonly outputs: Map<string, { value: unknown; sensitive: boolean }>;
}

/** An instance key as Terraform writes it in an address: `[0]`, `["a"]`. */
export function instanceKey(key: unknown): string {
  if (key === undefined || key === null) return '';
  return typeof key === 'number' ? `[${key}]` : `[${JSON.stringify(String(key))}]`;
}

/** A resource instance's address: module path, `data.` for data sources, type.name, instance key. */
export function resourceAddress(resource: { module?: unknown; mode?: unknown; type?: unknown; name?: unknown }, key?: unknown): string {
  const module = typeof resource.module === 'string' && resource.module !== '' ? `${resource.module}.` : '';
  const mode = resource.mode === 'data' ? 'data.' : '';
  return `${module}${mode}${String(resource.type)}.${String(resource.name)}${instanceKey(key)}`;
}

/** The first step of each `sensitive_attributes` path (a list of `{type: "get_attr", value: name}` steps). */
function sensitiveNames(paths: unknown): Set<string> {
  const names = new Set<string>();
  if (!Array.isArray(paths)) return names;
  for (const p of paths) {
    const steps = Array.isArray(p) ? p : (p as { path?: unknown })?.path;
    const first = Array.isArray(steps) ? steps[0] : undefined;
    if (first && typeof first === 'object' && typeof (first as { value?: unknown }).value === 'string') {
      names.add((first as { value: string }).value);
    }
  }
  return names;
}

/** Parses a state body; throws an Error saying why it is not a version-4 state. */
export function parseState(body: Uint8Array | string): ParsedState {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const s = JSON.parse(text) as { version?: unknown; resources?: unknown; outputs?: unknown };
  if (typeof s !== 'object' || s === null) throw new Error('not a JSON object');
  if (s.version !== 4) throw new Error(`state format version ${JSON.stringify(s.version)}: only version 4 (Terraform 0.12 and later) is read`);
  const instances = new Map<string, Instance>();
  for (const r of Array.isArray(s.resources) ? s.resources as Array<Record<string, unknown>> : []) {
    for (const i of Array.isArray(r.instances) ? r.instances as Array<Record<string, unknown>> : []) {
      const address = resourceAddress(r, i.index_key);
      const attributes = (typeof i.attributes === 'object' && i.attributes !== null ? i.attributes : {}) as Record<string, unknown>;
      instances.set(address, { address, attributes, sensitive: sensitiveNames(i.sensitive_attributes) });
    }
  }
  const outputs = new Map<string, { value: unknown; sensitive: boolean }>();
  for (const [name, o] of Object.entries((typeof s.outputs === 'object' && s.outputs !== null ? s.outputs : {}) as Record<string, Record<string, unknown>>)) {
    outputs.set(name, { value: o?.value, sensitive: o?.sensitive === true });
  }
  return { instances, outputs };
}

/** How many resource instances a state holds (the inventory's resource count). */
export function countInstances(body: Uint8Array | string): number {
  return parseState(body).instances.size;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function byName(a: { address?: string; name?: string }, b: { address?: string; name?: string }): number {
  const x = a.address ?? a.name ?? '';
  const y = b.address ?? b.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The differences from state `from` to state `to`. With `values`, the changed values of
 * attributes and outputs, except sensitive ones (either side's marking counts).
 */
export function diffStates(from: Uint8Array | string, to: Uint8Array | string, values = false): StateDiff {
  const a = parseState(from);
  const b = parseState(to);
  const resources: ResourceChange[] = [];
  for (const [address, old] of a.instances) {
    const now = b.instances.get(address);
    if (!now) {
      resources.push({ address, change: 'removed', attributes: Object.keys(old.attributes).sort() });
      continue;
    }
    const names = [...new Set([...Object.keys(old.attributes), ...Object.keys(now.attributes)])].sort()
      .filter((n) => !same(old.attributes[n], now.attributes[n]));
    if (names.length === 0) continue;
    const change: ResourceChange = { address, change: 'changed', attributes: names };
    if (values) {
      const shown: Record<string, ValueChange> = {};
      for (const n of names) {
        shown[n] = old.sensitive.has(n) || now.sensitive.has(n)
          ? { sensitive: true }
          : { sensitive: false, from: old.attributes[n] ?? null, to: now.attributes[n] ?? null };
      }
      resources.push({ ...change, values: shown });
    } else {
      resources.push(change);
    }
  }
  for (const [address, now] of b.instances) {
    if (!a.instances.has(address)) {
      resources.push({ address, change: 'added', attributes: Object.keys(now.attributes).sort() });
    }
  }
  const outputs: OutputChange[] = [];
  for (const name of [...new Set([...a.outputs.keys(), ...b.outputs.keys()])]) {
    const old = a.outputs.get(name);
    const now = b.outputs.get(name);
    const change: ChangeKind | undefined = !old ? 'added' : !now ? 'removed' : !same(old.value, now.value) || old.sensitive !== now.sensitive ? 'changed' : undefined;
    if (!change) continue;
    const sensitive = old?.sensitive === true || now?.sensitive === true;
    outputs.push(values && !sensitive
      ? { name, change, sensitive, ...(old ? { from: old.value } : {}), ...(now ? { to: now.value } : {}) }
      : { name, change, sensitive });
  }
  return { resources: resources.sort(byName), outputs: outputs.sort(byName) };
}

/** A value on one line, cut at 200 characters. */
function short(value: unknown): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

const SIGN: Record<ChangeKind, string> = { added: '+', removed: '-', changed: '~' };

/** The diff as a person reads it: one line per resource instance and output, `+` added, `-` removed, `~` changed. */
export function renderDiff(diff: StateDiff): string {
  const lines: string[] = [];
  for (const r of diff.resources) {
    if (r.change === 'changed') {
      lines.push(`~ ${r.address}: ${r.attributes.join(', ')}`);
      for (const [name, v] of Object.entries(r.values ?? {})) {
        lines.push(v.sensitive ? `    ${name}: (sensitive)` : `    ${name}: ${short(v.from)} -> ${short(v.to)}`);
      }
    } else {
      lines.push(`${SIGN[r.change]} ${r.address}`);
    }
  }
  for (const o of diff.outputs) {
    const what = o.sensitive ? ' (sensitive)'
      : 'from' in o || 'to' in o ? `: ${'from' in o ? short(o.from) : '(none)'} -> ${'to' in o ? short(o.to) : '(none)'}` : '';
    lines.push(`${SIGN[o.change]} output.${o.name}${what}`);
  }
  const count = (k: ChangeKind) => diff.resources.filter((r) => r.change === k).length;
  lines.push('', `${count('added')} added, ${count('changed')} changed, ${count('removed')} removed; ${diff.outputs.length} output${diff.outputs.length === 1 ? '' : 's'} changed.`);
  return lines.join('\n') + '\n';
}
