/**
 * Evaluates IAM requests the way AWS would for a grantee of a backend, with
 * `@cloud-copilot/iam-simulate`, against the policies as the synthesized templates
 * have them (never a copy of the construct's statements): the grantee's identity
 * policies (its stack's template), the state bucket's policy, the lock table's
 * resource policy and the KMS key policy (the backend stack's template), with the
 * CloudFormation intrinsics resolved for one account and region (cfn-eval.ts).
 *
 * `@cloud-copilot/iam-simulate` is AGPL-3.0: a devDependency of this repository only,
 * never shipped in either package (scripts/check-pack.js proves it).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { CfnValues, resolveValue, TemplateScope } from './cfn-eval';
import type { IamRequest } from './terraform-requests';

export type PolicyDocument = { Version?: string; Statement: Array<Record<string, unknown>> };

interface Template extends TemplateScope {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** A fixed, well-formed key ID for the logical ID of each key (KMS makes them up; any will do). */
function keyIdOf(logicalId: string): string {
  let h = 0;
  for (const c of logicalId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const hex = h.toString(16).padStart(8, '0');
  return `${hex}-0000-4000-8000-${hex}0000`;
}

/** The ARN this evaluation gives the key of `logicalId` made in `account` and `region` (what `Fn::GetAtt <key>.Arn` resolves to). */
export function customerKeyArn(logicalId: string, account: string, region: string): string {
  return `arn:aws:kms:${region}:${account}:key/${keyIdOf(logicalId)}`;
}

/**
 * The physical names and ARNs of a template's resources, as CloudFormation would make
 * them in `account` and `region`: from the names the template gives (`BucketName`,
 * `TableName`, `RoleName`, ...), and made-up IDs for the rest.
 */
export function cfnValues(template: Template, account: string, region: string): CfnValues {
  const resource = (id: string) => {
    const r = template.Resources[id];
    if (!r) throw new Error(`no resource ${id} in the template`);
    return r;
  };
  const name = (id: string): string => {
    const r = resource(id);
    const p = r.Properties ?? {};
    const given = p.BucketName ?? p.TableName ?? p.RoleName ?? p.Name ?? p.AliasName;
    if (typeof given === 'string') return given;
    if (r.Type === 'AWS::KMS::Key') return keyIdOf(id);
    return `${id.toLowerCase()}-physical-id`;
  };
  return {
    pseudo: { 'AWS::AccountId': account, 'AWS::Region': region, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' },
    ref: name,
    getAtt: (id, attribute) => {
      const r = resource(id);
      if (attribute !== 'Arn') throw new Error(`cannot evaluate Fn::GetAtt ${id}.${attribute}`);
      switch (r.Type) {
        case 'AWS::S3::Bucket': return `arn:aws:s3:::${name(id)}`;
        case 'AWS::DynamoDB::Table': return `arn:aws:dynamodb:${region}:${account}:table/${name(id)}`;
        case 'AWS::KMS::Key': return customerKeyArn(id, account, region);
        case 'AWS::IAM::Role': return `arn:aws:iam::${account}:role/${name(id)}`;
        default: throw new Error(`cannot evaluate Fn::GetAtt ${id}.Arn of a ${r.Type}`);
      }
    },
  };
}

/** The policies that apply to a grantee's requests on one backend. */
export interface BackendPolicies {
  readonly backendAccount: string;
  readonly region: string;
  readonly bucketPolicy?: PolicyDocument;
  readonly tablePolicy?: PolicyDocument;
  /** Key policies by key ARN: the customer key's from the template, `aws/s3`'s as AWS documents it. */
  readonly keyPolicies: Record<string, PolicyDocument>;
  /** Aliases by key ARN (`kms:ResourceAliases`). */
  readonly keyAliases: Record<string, string[]>;
}

/** A principal: a role session, its identity policies, and its organization. */
export interface Grantee {
  readonly account: string;
  readonly roleName: string;
  readonly identityPolicies: PolicyDocument[];
  readonly organizationId?: string;
}

/**
 * The policy of the AWS managed key `aws/s3`, as AWS documents it for AWS managed
 * keys ("Allow access through Amazon S3 for all principals in the account that are
 * authorized to use Amazon S3": `kms:ViaService` = `s3.<region>.amazonaws.com` and
 * `kms:CallerAccount` = the account). No statement of this project can change it.
 */
export function awsManagedS3KeyPolicy(account: string, region: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Allow access through S3 for all principals in the account that are authorized to use S3',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:CallerAccount': account, 'kms:ViaService': `s3.${region}.amazonaws.com` } },
      },
      {
        Sid: 'Allow direct access to key metadata to the account',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: ['kms:Describe*', 'kms:Get*', 'kms:List*'],
        Resource: '*',
      },
    ],
  };
}

/** The ARN this evaluation gives the account's `aws/s3` key. */
export function awsManagedS3KeyArn(account: string, region: string): string {
  return `arn:aws:kms:${region}:${account}:key/aa5aa5aa-0000-4000-8000-0000000a5a53`;
}

/** The backend stack's policies, read from its template: the bucket named `bucketName`, the table named `tableName`, every key. */
export function backendPolicies(template: Template, account: string, region: string, bucketName: string, tableName?: string): BackendPolicies {
  const values = cfnValues(template, account, region);
  const resolve = <T>(v: unknown) => resolveValue(v, values, template) as T;
  const entries = Object.entries(template.Resources);
  const bucketId = entries.find(([, r]) => r.Type === 'AWS::S3::Bucket' && r.Properties?.BucketName === bucketName)?.[0];
  if (!bucketId) throw new Error(`no bucket named ${bucketName} in the backend's template`);
  const bucketPolicy = entries.find(([, r]) => r.Type === 'AWS::S3::BucketPolicy' && resolve<string>(r.Properties?.Bucket) === bucketName)?.[1];
  const table = tableName === undefined ? undefined
    : entries.find(([, r]) => r.Type === 'AWS::DynamoDB::Table' && r.Properties?.TableName === tableName)?.[1];
  if (tableName !== undefined && !table) throw new Error(`no table named ${tableName} in the backend's template`);
  const keyPolicies: Record<string, PolicyDocument> = { [awsManagedS3KeyArn(account, region)]: awsManagedS3KeyPolicy(account, region) };
  const keyAliases: Record<string, string[]> = {};
  for (const [id, r] of entries) {
    if (r.Type === 'AWS::KMS::Key') {
      const arn = values.getAtt!(id, 'Arn');
      keyPolicies[arn] = resolve<PolicyDocument>(r.Properties!.KeyPolicy);
      keyAliases[arn] = [];
    }
  }
  for (const [, r] of entries) {
    if (r.Type === 'AWS::KMS::Alias') {
      const target = resolve<string>(r.Properties!.TargetKeyId);
      const arn = Object.keys(keyAliases).find((k) => k === target || k.endsWith(`/${target}`));
      if (arn) keyAliases[arn].push(resolve<string>(r.Properties!.AliasName));
    }
  }
  const tableResourcePolicy = (table?.Properties?.ResourcePolicy as { PolicyDocument?: unknown } | undefined)?.PolicyDocument;
  return {
    backendAccount: account,
    region,
    bucketPolicy: bucketPolicy ? resolve<PolicyDocument>(bucketPolicy.Properties!.PolicyDocument) : undefined,
    tablePolicy: tableResourcePolicy === undefined ? undefined : resolve<PolicyDocument>(tableResourcePolicy),
    keyPolicies,
    keyAliases,
  };
}

/** The identity policies of the role named `roleName` in a grantee stack's template (inline and `AWS::IAM::Policy`). */
export function identityPolicies(template: Template, account: string, region: string, roleName: string): PolicyDocument[] {
  const values = cfnValues(template, account, region);
  const entries = Object.entries(template.Resources);
  const roleId = entries.find(([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties?.RoleName === roleName)?.[0];
  if (!roleId) throw new Error(`no role named ${roleName} in the grantee's template`);
  const role = template.Resources[roleId];
  if (role.Properties?.ManagedPolicyArns !== undefined) throw new Error(`${roleName} has managed policies, which this evaluation does not read`);
  const inline = ((role.Properties?.Policies ?? []) as Array<{ PolicyDocument: unknown }>).map((p) => p.PolicyDocument);
  const attached = entries
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && (r.Properties?.Roles as unknown[] | undefined)?.some((x) => JSON.stringify(x) === JSON.stringify({ Ref: roleId })))
    .map(([, r]) => r.Properties!.PolicyDocument);
  return [...inline, ...attached].map((d) => resolveValue(d, values, template) as PolicyDocument);
}

/** How a request was decided, and by which statements. */
export interface Decision {
  readonly result: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
  /**
   * The deny statements that matched (identity and resource policies), each named by
   * its `Sid`, or, without one, by the condition keys it tests (`aws:SecureTransport`).
   */
  readonly denyingStatements: string[];
  /** Request context keys the evaluator left out because they do not apply to the action. */
  readonly ignoredContextKeys: string[];
}

/** What the evaluation assumes of every request: TLS 1.2 to AWS, a role session. */
export interface RequestConditions {
  /** `aws:SecureTransport`: true for every request Terraform sends to AWS (HTTPS); false for the plain-HTTP case. */
  readonly secureTransport?: boolean;
  /** `s3:TlsVersion`. */
  readonly tlsVersion?: string;
  /** `aws:PrincipalOrgID`, overriding the grantee's organization. */
  readonly organizationId?: string;
}

/** Evaluates one IAM request of `grantee` on the backend of `policies`. */
export async function evaluate(
  request: IamRequest, grantee: Grantee, policies: BackendPolicies, conditions: RequestConditions = {},
): Promise<Decision> {
  const service = request.action.split(':')[0];
  const roleArn = `arn:aws:iam::${grantee.account}:role/${grantee.roleName}`;
  const organizationId = conditions.organizationId ?? grantee.organizationId;
  const context: Record<string, string | string[]> = {
    'aws:SecureTransport': String(conditions.secureTransport ?? true),
    'aws:PrincipalArn': roleArn,
    'aws:PrincipalAccount': grantee.account,
    'aws:PrincipalIsAWSService': 'false',
    ...(organizationId === undefined ? {} : { 'aws:PrincipalOrgID': organizationId }),
    ...request.context,
  };
  let resourcePolicy: PolicyDocument | undefined;
  if (service === 's3') {
    context['s3:TlsVersion'] = conditions.tlsVersion ?? '1.2';
    resourcePolicy = policies.bucketPolicy;
  } else if (service === 'dynamodb') {
    resourcePolicy = policies.tablePolicy;
  } else if (service === 'kms') {
    resourcePolicy = policies.keyPolicies[request.resource];
    if (!resourcePolicy) throw new Error(`no key policy for ${request.resource}: the request names a key the backend's template does not make`);
    context['kms:CallerAccount'] = grantee.account;
    if ((policies.keyAliases[request.resource] ?? []).length > 0) context['kms:ResourceAliases'] = policies.keyAliases[request.resource];
  }
  const out = await runSimulation({
    request: {
      principal: `arn:aws:sts::${grantee.account}:assumed-role/${grantee.roleName}/terraform`,
      action: request.action,
      resource: { resource: request.resource, accountId: policies.backendAccount },
      contextVariables: context,
    },
    identityPolicies: grantee.identityPolicies.map((policy, i) => ({ name: `identity-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
  }, {});
  if (out.resultType === 'error') throw new Error(`the evaluator refused the request ${JSON.stringify(request)}: ${JSON.stringify(out.errors)}`);
  if (out.resultType !== 'single') throw new Error(`a wildcard resource in ${JSON.stringify(request)}`);
  const analysis = out.result.analysis;
  const denies = [...(analysis.identityAnalysis?.denyStatements ?? []), ...(analysis.resourceAnalysis?.denyStatements ?? [])];
  return {
    result: out.overallResult,
    denyingStatements: denies.map((d) => d.statement.sid()
      ?? `(no Sid: ${Object.values(d.statement.conditionMap() ?? {}).flatMap((c) => Object.keys(c)).join(', ')})`),
    ignoredContextKeys: out.result.ignoredContextKeys ?? [],
  };
}
