import { CfnResource, Stack, Validations } from 'aws-cdk-lib/core';
import { IConstruct } from 'constructs';

/**
 * Internal: a cdk-nag rule the library itself acknowledges, with the reason.
 */
export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
  /**
   * The granular findings of the rule this covers (e.g. `Resource::arn:...`),
   * for rules that report one finding per offending value.
   */
  readonly appliesTo?: string[];
}

/**
 * Records that a cdk-nag rule does not apply to a resource, for both major
 * versions of cdk-nag, without depending on cdk-nag:
 *
 * - cdk-nag 2 reads the `cdk_nag` entry of the resource's CloudFormation
 *   metadata (`{ rules_to_suppress: [{ id, reason, applies_to }] }`);
 * - cdk-nag 3 reads acknowledgements made with aws-cdk-lib's own
 *   `Validations.of(construct).acknowledge(...)`, granular findings as
 *   `<id>[<finding>]`.
 *
 * Existing `cdk_nag` entries (for example ones the user added) are kept.
 */
export function acknowledgeNagRules(resource: IConstruct, rules: NagAcknowledgement[]): void {
  const cfn = CfnResource.isCfnResource(resource) ? resource : resource.node.defaultChild;
  if (!cfn || !CfnResource.isCfnResource(cfn)) {
    throw new Error(`Cannot acknowledge cdk-nag rules on ${resource.node.path}: it has no CloudFormation resource`);
  }
  const existing: Array<{ id: string; applies_to?: string[] }> = cfn.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
  const same = (a: { id: string; applies_to?: string[] }, b: { id: string; applies_to?: string[] }) =>
    a.id === b.id && JSON.stringify(a.applies_to) === JSON.stringify(b.applies_to);
  const added = rules.map((r) => ({ id: r.id, reason: r.reason, ...(r.appliesTo ? { applies_to: r.appliesTo } : {}) }))
    .filter((r) => !existing.some((e) => same(e, r)));
  cfn.addMetadata('cdk_nag', { rules_to_suppress: [...existing, ...added] });
  Validations.of(cfn).acknowledge(...rules.flatMap((r) => (r.appliesTo
    ? r.appliesTo.map((finding) => ({ id: `${r.id}[${finding}]`, reason: r.reason }))
    : [{ id: r.id, reason: r.reason }])));
}

/**
 * The text cdk-nag uses for a value in a granular finding: the value resolved,
 * with references written `<LogicalId>` / `<LogicalId.Attribute>` and joins
 * flattened (as cdk-nag's own `flattenCfnReference` does).
 */
export function nagFindingText(scope: IConstruct, value: string): string {
  const visit = (node: unknown): string => {
    if (typeof node === 'string') {
      return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    }
    const n = node as { 'Fn::Join'?: [string, unknown[]]; 'Fn::GetAtt'?: [unknown, unknown]; 'Ref'?: unknown } | undefined;
    if (n && n['Fn::Join']) {
      const [delimiter, items] = n['Fn::Join'];
      return items.map(visit).join(delimiter);
    }
    if (n && n['Fn::GetAtt']) {
      return `<${visit(n['Fn::GetAtt'][0])}.${visit(n['Fn::GetAtt'][1])}>`;
    }
    if (n && n.Ref !== undefined) {
      return `<${visit(n.Ref)}>`;
    }
    return JSON.stringify(node);
  };
  return visit(Stack.of(scope).resolve(value));
}

/**
 * Acknowledges `rules` on the inline IAM policies of `principal` (a role's
 * `DefaultPolicy`, an imported role's `Policy`), where a grant to it adds its
 * statements and cdk-nag reports them. `appliesTo` holds the values (ARNs)
 * as the grant put them, resolved here in the policy's stack; granular, so
 * that nothing else in the policy is acknowledged. (A grant's own dependable
 * is no help: a role fills it only when it is synthesized.)
 */
export function acknowledgeOnPrincipalPolicies(principal: IConstruct, rules: NagAcknowledgement[]): void {
  for (const child of principal.node.children) {
    const cfn = child.node.defaultChild;
    if (cfn === undefined || !CfnResource.isCfnResource(cfn) || cfn.cfnResourceType !== 'AWS::IAM::Policy') {
      continue;
    }
    acknowledgeNagRules(cfn, rules.map((r) => ({
      ...r, appliesTo: r.appliesTo?.map((value) => `Resource::${nagFindingText(cfn, value)}`),
    })));
  }
}
