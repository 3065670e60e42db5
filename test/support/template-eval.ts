/**
 * What CloudFormation makes of a parameterised template for given parameter
 * values, as far as the backend's templates need: parameters substituted,
 * conditions (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`)
 * evaluated, `Fn::If` resolved, `AWS::NoValue` dropped, and every `Fn::Join`
 * with an empty delimiter flattened (nested joins merged, adjacent literals
 * joined). Pseudo parameters, resource references and `Fn::GetAtt` stay as
 * they are, so the result compares with an app stack's template (normalized
 * the same way) resource by resource: equal resolved properties are what lets
 * a stack move between the two without CloudFormation changing a resource.
 */

type Json = unknown;
export type ParameterValues = Record<string, string | number>;

const NO_VALUE = Symbol('AWS::NoValue');

interface Template {
  readonly Parameters?: Record<string, { Default?: string | number }>;
  readonly Conditions?: Record<string, Json>;
  readonly Resources?: Record<string, Record<string, Json>>;
  readonly Outputs?: Record<string, Record<string, Json>>;
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A template's resources and outputs as deployed with `values` (the rest: the parameters' defaults). */
export function resolveTemplate(template: Template, values: ParameterValues = {}): { Resources: Json; Outputs: Json } {
  const parameters: ParameterValues = {};
  for (const [name, p] of Object.entries(template.Parameters ?? {})) {
    const value = values[name] ?? p.Default;
    if (value === undefined) throw new Error(`no value for the parameter ${name}, which has no default`);
    parameters[name] = value;
  }
  for (const name of Object.keys(values)) {
    if (!(name in parameters)) throw new Error(`the template has no parameter ${name}`);
  }
  const conditions = new Map<string, boolean>();
  const condition = (name: string): boolean => {
    if (!conditions.has(name)) {
      const expr = template.Conditions?.[name];
      if (expr === undefined) throw new Error(`no condition ${name}`);
      conditions.set(name, truth(expr));
    }
    return conditions.get(name)!;
  };
  const truth = (expr: Json): boolean => {
    if (!isObject(expr)) throw new Error(`not a condition: ${JSON.stringify(expr)}`);
    const [[fn, arg]] = Object.entries(expr);
    const args = arg as Json[];
    switch (fn) {
      case 'Fn::Equals': return JSON.stringify(value(args[0])) === JSON.stringify(value(args[1]));
      case 'Fn::Not': return !truth(args[0]);
      case 'Fn::And': return args.every(truth);
      case 'Fn::Or': return args.some(truth);
      case 'Condition': return condition(arg as string);
      default: throw new Error(`cannot evaluate ${fn} in a condition`);
    }
  };
  const value = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(value).filter((v) => v !== NO_VALUE);
    if (!isObject(node)) return node;
    const keys = Object.keys(node);
    if (keys.length === 1 && keys[0] === 'Ref' && typeof node.Ref === 'string') {
      if (node.Ref === 'AWS::NoValue') return NO_VALUE;
      if (node.Ref in parameters) return parameters[node.Ref];
      return node;
    }
    if (keys.length === 1 && keys[0] === 'Fn::If') {
      const [name, yes, no] = node['Fn::If'] as [string, Json, Json];
      return value(condition(name) ? yes : no);
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(node)) {
      const resolved = value(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  };
  return normalize({ Resources: value(template.Resources ?? {}), Outputs: value(template.Outputs ?? {}) }) as { Resources: Json; Outputs: Json };
}

/** Flattens every `Fn::Join` with an empty delimiter: nested ones merged, adjacent literals joined, a lone literal unwrapped. */
export function normalize(node: Json): Json {
  if (Array.isArray(node)) return node.map(normalize);
  if (!isObject(node)) return node;
  const join = node['Fn::Join'];
  if (Object.keys(node).length === 1 && Array.isArray(join) && join[0] === '') {
    const parts: Json[] = [];
    const add = (part: Json) => {
      const n = normalize(part);
      if (isObject(n) && Array.isArray(n['Fn::Join']) && n['Fn::Join'][0] === '') {
        (n['Fn::Join'][1] as Json[]).forEach(add);
      } else if (typeof n === 'string' || typeof n === 'number') {
        const s = String(n);
        if (s === '') return;
        if (typeof parts[parts.length - 1] === 'string') parts[parts.length - 1] += s;
        else parts.push(s);
      } else {
        parts.push(n);
      }
    };
    (join[1] as Json[]).forEach(add);
    if (parts.length === 0) return '';
    if (parts.length === 1 && typeof parts[0] === 'string') return parts[0];
    return { 'Fn::Join': ['', parts] };
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, normalize(v)]));
}

/** Removes every resource's `Metadata.cdk_nag` (suppressions name values in their unresolved form). */
export function withoutNagMetadata(resources: Json): Json {
  if (!isObject(resources)) return resources;
  return Object.fromEntries(Object.entries(resources).map(([id, r]) => {
    if (!isObject(r) || !isObject(r.Metadata)) return [id, r];
    const { cdk_nag: _nag, ...metadata } = r.Metadata;
    const { Metadata: _m, ...rest } = r;
    return [id, Object.keys(metadata).length > 0 ? { ...rest, Metadata: metadata } : rest];
  }));
}
