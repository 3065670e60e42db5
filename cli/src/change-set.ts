/**
 * What a CloudFormation change set would do to a backend, judged before it executes: a
 * resource CloudFormation would replace or remove is refused when it has a fixed physical
 * name (its name is in the template: replacing it means deleting the one that exists, or
 * failing on the name, and removing it leaves or deletes what Terraform uses) or when it
 * is the state bucket.
 */

/** A change as DescribeChangeSet returns it (`Changes[].ResourceChange`). */
export interface ResourceChange {
  readonly Action?: string;
  readonly LogicalResourceId?: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceType?: string;
  /** `True`, `False` or `Conditional` (Modify only). */
  readonly Replacement?: string;
}

/** A template's resources, as far as a judgement needs them. */
export type Resources = Readonly<Record<string, { readonly Type: string; readonly Properties?: Readonly<Record<string, unknown>> }>>;

/** The logical ID of the state bucket, the same in the app's stack and every template. */
export const STATE_BUCKET_ID = 'BackendStateBucketBF5F84A2';
/** The logical ID of the lock table. */
export const LOCK_TABLE_ID = 'BackendLockTable5C1C0CEA';

/** The property that names a resource of each type, where the backend has such resources. */
export const NAME_PROPERTIES: Readonly<Record<string, string>> = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SSM::Parameter': 'Name',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
};

export interface Judged {
  readonly change: ResourceChange;
  /** Why it is refused, or undefined when it may go ahead. */
  readonly refused?: string;
}

/**
 * Whether the resource has a fixed physical name: its template sets the type's name
 * property. A resource missing from `resources` (a template that could not be read) of a
 * type that can be named counts as named: the safe answer.
 */
export function hasFixedName(logicalId: string, type: string | undefined, resources: Resources | undefined): boolean {
  const property = type ? NAME_PROPERTIES[type] : undefined;
  if (property === undefined) {
    return false;
  }
  const r = resources?.[logicalId];
  return r === undefined ? true : r.Properties?.[property] !== undefined;
}

/**
 * Judges every change: `oldResources` is the stack's current template (for removals),
 * `newResources` the template to deploy (for replacements).
 */
export function judgeChanges(changes: readonly ResourceChange[], oldResources: Resources | undefined, newResources: Resources): Judged[] {
  return changes.map((change) => {
    const id = change.LogicalResourceId ?? '';
    const what = id === STATE_BUCKET_ID ? 'the state bucket' : `${change.ResourceType} ${id}`;
    const named = change.PhysicalResourceId ? ` (${change.PhysicalResourceId})` : '';
    if (change.Action === 'Remove') {
      if (id === STATE_BUCKET_ID || hasFixedName(id, change.ResourceType, oldResources)) {
        return { change, refused: `it would remove ${what}${named}, which has a fixed name` };
      }
    }
    if (change.Action === 'Modify' && (change.Replacement === 'True' || change.Replacement === 'Conditional')) {
      if (id === STATE_BUCKET_ID || hasFixedName(id, change.ResourceType, newResources) || hasFixedName(id, change.ResourceType, oldResources)) {
        const may = change.Replacement === 'True' ? 'would replace' : 'may replace (Replacement: Conditional)';
        return { change, refused: `it ${may} ${what}${named}, which has a fixed name: the one that exists would be deleted or the new one fail on its name` };
      }
    }
    return { change };
  });
}

/** One change as a line: `Modify  AWS::S3::Bucket  BackendStateBucketBF5F84A2  (my-state)  replacement: True    REFUSED`. */
export function changeLine(j: Judged): string {
  const c = j.change;
  const parts = [
    (c.Action ?? '?').padEnd(6),
    (c.ResourceType ?? '?').padEnd(22),
    c.LogicalResourceId ?? '?',
    c.PhysicalResourceId ? `(${c.PhysicalResourceId})` : '',
    c.Action === 'Modify' && c.Replacement ? `replacement: ${c.Replacement}` : '',
    j.refused ? '  REFUSED' : '',
  ];
  return parts.filter((p) => p !== '').join('  ');
}

/** CloudFormation's reason for a change set with nothing to do. */
export function isNoChanges(statusReason: string | undefined): boolean {
  return /didn't contain changes|No updates are to be performed/i.test(statusReason ?? '');
}
