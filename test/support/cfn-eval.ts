/**
 * Evaluates the few CloudFormation intrinsics that the construct's rendered strings
 * resolve to (`Fn::Join`, `Ref` of pseudo parameters and resources, `Fn::GetAtt`),
 * so that a string like `renderBackendConfigFile()` of an environment-agnostic stack
 * can be compared with what CloudFormation made of it in one account and region.
 */
import { IResolvable, Stack } from 'aws-cdk-lib';

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
