import { Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';

/**
 * The error annotations of the stack that holds `scope` (what `cdk synth`
 * prints as `[Error at /path] message` before it fails), as one text; empty
 * when there are none.
 */
export function synthErrors(scope: IConstruct): string {
  return Annotations.fromStack(Stack.of(scope)).findError('*', Match.anyValue())
    .map((m) => `[Error at ${m.id}] ${String(m.entry.data)}`)
    .join('\n');
}
