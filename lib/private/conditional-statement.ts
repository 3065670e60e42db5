import { Aws, CfnCondition, Fn, IResolvable } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Internal: a policy statement that is in its policy only where a
 * CloudFormation condition holds: it renders as
 * `{ "Fn::If": [<condition>, <statement>, { "Ref": "AWS::NoValue" }] }`, which
 * CloudFormation drops from the statement list when the condition is false.
 * For statements that depend on a parameter, e.g. an organization ID left
 * empty.
 *
 * It must have a Sid: aws-iam's policy minimization
 * (`@aws-cdk/aws-iam:minimizePolicies`) never merges a statement that has
 * one, and a merge would make a plain statement of it, without the condition.
 */
export class ConditionalPolicyStatement extends iam.PolicyStatement {
  private readonly condition: CfnCondition;

  constructor(condition: CfnCondition, props: iam.PolicyStatementProps) {
    if (props.sid === undefined) {
      throw new Error('A conditional policy statement needs a Sid, so that policy minimization never merges it (and drops its condition)');
    }
    super(props);
    this.condition = condition;
  }

  public toStatementJson(): IResolvable {
    return Fn.conditionIf(this.condition.logicalId, super.toStatementJson(), Aws.NO_VALUE);
  }
}
