import { CfnResource, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * A cdk-nag rule the library itself acknowledges, with the reason.
 */
export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
}

/**
 * Records that a cdk-nag rule does not apply to a resource, for both major
 * versions of cdk-nag, without depending on cdk-nag:
 *
 * - cdk-nag 2 reads the `cdk_nag` entry of the resource's CloudFormation
 *   metadata (`{ rules_to_suppress: [{ id, reason }] }`);
 * - cdk-nag 3 reads acknowledgements made with aws-cdk-lib's own
 *   `Validations.of(construct).acknowledge(...)`.
 *
 * Existing `cdk_nag` entries (for example ones the user added) are kept.
 */
export function acknowledgeNagRules(resource: IConstruct, rules: NagAcknowledgement[]): void {
  const cfn = CfnResource.isCfnResource(resource) ? resource : resource.node.defaultChild;
  if (!cfn || !CfnResource.isCfnResource(cfn)) {
    throw new Error(`Cannot acknowledge cdk-nag rules on ${resource.node.path}: it has no CloudFormation resource`);
  }
  const existing = cfn.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
  const ids = new Set(existing.map((r: NagAcknowledgement) => r.id));
  cfn.addMetadata('cdk_nag', {
    rules_to_suppress: [...existing, ...rules.filter((r) => !ids.has(r.id)).map((r) => ({ id: r.id, reason: r.reason }))],
  });
  Validations.of(cfn).acknowledge(...rules.map((r) => ({ id: r.id, reason: r.reason })));
}
