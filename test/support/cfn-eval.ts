/**
 * Evaluates the few CloudFormation intrinsics that the construct's rendered strings
 * resolve to (`Fn::Join`, `Ref` of pseudo parameters and resources, `Fn::GetAtt`),
 * so that a string like `renderBackendConfigFile()` of an environment-agnostic stack
 * can be compared with what CloudFormation made of it in one account and region.
 */
import { IResolvable, Stack } from 'aws-cdk-lib/core';

export interface CfnValues {
  /** `AWS::AccountId`, `AWS::Region`, ... */
  readonly pseudo: Record<string, string>;
  /** `Ref` of a resource: its physical ID, by logical ID. */
  readonly ref?: (logicalId: string) => string;
  /** `Fn::GetAtt`: the attribute of a resource, by logical ID and attribute name. */
  readonly getAtt?: (logicalId: string, attribute: string) => string;
}

/** The value of a resolved CloudFormation expression; throws on anything else. */
export function evaluate(expr: unknown, values: CfnValues): string {
  if (typeof expr === 'string') return expr;
  if (typeof expr === 'number' || typeof expr === 'boolean') return String(expr);
  if (expr && typeof expr === 'object' && !Array.isArray(expr)) {
    const entries = Object.entries(expr as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0];
      if (fn === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
        return (arg[1] as unknown[]).map((part) => evaluate(part, values)).join(arg[0]);
      }
      if (fn === 'Ref' && typeof arg === 'string') {
        if (arg.startsWith('AWS::')) {
          const v = values.pseudo[arg];
          if (v === undefined) throw new Error(`no value for pseudo parameter ${arg}`);
          return v;
        }
        if (!values.ref) throw new Error(`no way to resolve Ref ${arg}`);
        return values.ref(arg);
      }
      if (fn === 'Fn::GetAtt' && Array.isArray(arg) && arg.length === 2) {
        if (!values.getAtt) throw new Error(`no way to resolve Fn::GetAtt ${arg.join('.')}`);
        return values.getAtt(String(arg[0]), String(arg[1]));
      }
    }
  }
  throw new Error(`cannot evaluate ${JSON.stringify(expr)}`);
}

/** Resolves a (possibly tokenized) string in its stack, then evaluates it. */
export function evaluateInStack(stack: Stack, value: string | IResolvable, values: CfnValues): string {
  return evaluate(stack.resolve(value), values);
}

/** A template's `Conditions` and `Parameters`, for {@link resolveValue}. */
export interface TemplateScope {
  readonly Conditions?: Record<string, unknown>;
  /** Parameter values by name (a parameter without one takes its `Default`). */
  readonly parameters?: Record<string, string>;
  readonly Parameters?: Record<string, { Default?: unknown }>;
}

/** What `{ Ref: 'AWS::NoValue' }` resolves to: the property is left out. */
const NO_VALUE = Symbol('AWS::NoValue');

/**
 * Resolves a whole CloudFormation value (a policy document, a property) for one
 * account and region: objects and arrays recursively, `Fn::Join`, `Fn::Sub`,
 * `Fn::Select`, `Fn::Split`, `Ref` (pseudo parameters, parameters, resources),
 * `Fn::GetAtt`, and `Fn::If` with the template's `Conditions` (`Fn::Equals`,
 * `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`); `AWS::NoValue` removes the
 * property or array element. Throws on any other intrinsic, so a template that
 * gains one is never judged by a guess.
 */
export function resolveValue(expr: unknown, values: CfnValues, scope: TemplateScope = {}): unknown {
  const out = resolveInner(expr, values, scope);
  if (out === NO_VALUE) throw new Error('AWS::NoValue at the top level');
  return out;
}

function resolveInner(expr: unknown, values: CfnValues, scope: TemplateScope): unknown {
  if (expr === null || typeof expr !== 'object') return expr;
  if (Array.isArray(expr)) {
    return expr.map((e) => resolveInner(e, values, scope)).filter((e) => e !== NO_VALUE);
  }
  const entries = Object.entries(expr as Record<string, unknown>);
  if (entries.length === 1 && (entries[0][0] === 'Ref' || entries[0][0].startsWith('Fn::') || entries[0][0] === 'Condition')) {
    return intrinsic(entries[0][0], entries[0][1], values, scope);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    const r = resolveInner(v, values, scope);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

function str(expr: unknown, values: CfnValues, scope: TemplateScope): string {
  const v = resolveInner(expr, values, scope);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`expected a string, got ${JSON.stringify(v)}`);
}

function condition(name: string, values: CfnValues, scope: TemplateScope): boolean {
  const def = scope.Conditions?.[name];
  if (def === undefined) throw new Error(`no condition ${name} in the template`);
  return truth(def, values, scope);
}

function truth(expr: unknown, values: CfnValues, scope: TemplateScope): boolean {
  const [fn, arg] = Object.entries(expr as Record<string, unknown>)[0] ?? [];
  const args = arg as unknown[];
  switch (fn) {
    case 'Fn::Equals': return str(args[0], values, scope) === str(args[1], values, scope);
    case 'Fn::Not': return !truth(args[0], values, scope);
    case 'Fn::And': return args.every((a) => truth(a, values, scope));
    case 'Fn::Or': return args.some((a) => truth(a, values, scope));
    case 'Condition': return condition(arg as string, values, scope);
    default: throw new Error(`cannot evaluate the condition ${JSON.stringify(expr)}`);
  }
}

function ref(name: string, values: CfnValues, scope: TemplateScope): unknown {
  if (name === 'AWS::NoValue') return NO_VALUE;
  if (name.startsWith('AWS::')) {
    const v = values.pseudo[name];
    if (v === undefined) throw new Error(`no value for pseudo parameter ${name}`);
    return v;
  }
  const param = scope.parameters?.[name] ?? scope.Parameters?.[name]?.Default;
  if (param !== undefined) return param;
  if (!values.ref) throw new Error(`no way to resolve Ref ${name}`);
  return values.ref(name);
}

function intrinsic(fn: string, arg: unknown, values: CfnValues, scope: TemplateScope): unknown {
  switch (fn) {
    case 'Ref': return ref(arg as string, values, scope);
    case 'Fn::GetAtt': {
      const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
      if (!values.getAtt) throw new Error(`no way to resolve Fn::GetAtt ${id}.${attribute}`);
      return values.getAtt(String(id), String(attribute));
    }
    case 'Fn::Join': {
      const [sep, parts] = arg as [string, unknown];
      const list = resolveInner(parts, values, scope) as unknown[];
      return list.map((p) => str(p, values, scope)).join(sep);
    }
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      return (resolveInner(list, values, scope) as unknown[])[Number(str(index, values, scope))];
    }
    case 'Fn::Split': {
      const [sep, source] = arg as [string, unknown];
      return str(source, values, scope).split(sep);
    }
    case 'Fn::Sub': {
      const [template, vars] = typeof arg === 'string' ? [arg, {}] : arg as [string, Record<string, unknown>];
      return template.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
        if (name in vars) return str(vars[name], values, scope);
        const [id, attribute] = name.split('.');
        return attribute === undefined ? str({ Ref: id }, values, scope) : str({ 'Fn::GetAtt': [id, attribute] }, values, scope);
      });
    }
    case 'Fn::If': {
      const [name, whenTrue, whenFalse] = arg as [string, unknown, unknown];
      return resolveInner(condition(name, values, scope) ? whenTrue : whenFalse, values, scope);
    }
    case 'Condition': return condition(arg as string, values, scope);
    default: throw new Error(`cannot evaluate ${fn} in ${JSON.stringify({ [fn]: arg })}`);
  }
}
