import { Aws, CfnCondition, Fn, IResolvable } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Internal: a policy statement that is in its policy only where a
 * CloudFormation condition holds: it renders as
 * `{ "Fn::If": [<condition>, <statement>, { "Ref": "AWS::NoValue" }] }`, which
 * CloudFormation drops from the statement list when the condition is false.
 * For statements that depend on a parameter, e.g. an organization ID left
 * empty.
 */
export class ConditionalPolicyStatement extends iam.PolicyStatement {
  private readonly condition: CfnCondition;

  constructor(condition: CfnCondition, props: iam.PolicyStatementProps) {
    super(props);
    this.condition = condition;
  }

  public toStatementJson(): IResolvable {
    return Fn.conditionIf(this.condition.logicalId, super.toStatementJson(), Aws.NO_VALUE);
  }
}
