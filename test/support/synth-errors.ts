import { IConstruct } from 'constructs';

/**
 * The error annotations of `scope` and the constructs below it (what
 * `cdk synth` prints before it fails), as one text; empty when there are none.
 * Read from the construct tree, without synthesizing: an invalid construct
 * builds nothing, and an empty stack would only add CloudFormation's
 * validation warning to the output.
 */
export function synthErrors(scope: IConstruct): string {
  return scope.node.findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:error').map((m) => `[Error at /${c.node.path}] ${String(m.data)}`))
    .join('\n');
}
