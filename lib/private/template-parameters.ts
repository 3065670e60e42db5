import { CfnParameterProps } from 'aws-cdk-lib/core';
import { replicaBucketName } from './replica-names';

/**
 * Internal: the CloudFormation parameters of the published templates (and of
 * the StackSet's template), with the constraints CloudFormation checks before
 * it makes anything. They follow the rules of `validate.ts`; where a value can
 * be a parameter, nothing else judges it (the construct never judges a token),
 * so the patterns carry the whole rule. test/template-parameters.test.ts
 * checks each pattern against its rule on a table of good and bad values.
 *
 * Patterns are Java regular expressions (CloudFormation's); each is written in
 * the subset that Java and JavaScript read alike (no `\p{...}`, no inline
 * flags), so the tests can evaluate them.
 */

/** `o-` and 10 to 32 lowercase letters or digits: also what `organizationIdFaults` tests. */
export const ORGANIZATION_ID_REGEX = /^o-[a-z0-9]{10,32}$/;

/** An AWS region name such as `eu-west-1`: also what `regionFaults` tests. */
export const REGION_REGEX = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

/** The lookaheads of an S3 bucket name: reserved prefixes and suffixes, `..`, `.-`, `-.`, IP addresses. */
const BUCKET_NAME_EXCLUSIONS = '(?!xn--|sthree-|amzn-s3-demo-)(?!.*(?:-s3alias|--ol-s3|\\.mrap|--x-s3|--table-s3)$)' +
  '(?!.*(?:\\.\\.|\\.-|-\\.))(?!\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$)';

/** The longest name of a bucket that replicates: its replica bucket, `<name>-replica`, has at most 63 characters. */
export const REPLICATED_BUCKET_NAME_MAX_LENGTH = 63 - replicaBucketName('').length;

/**
 * An S3 general purpose bucket name (3 to `maxLength` of `a-z 0-9 . -`, a
 * letter or digit at both ends), or empty for the default name. `dots: false`
 * for a template that makes a KMS key: its alias is `alias/<bucket name>`, and
 * alias names cannot hold dots, which a template cannot replace as the
 * construct does.
 */
export function bucketNamePattern(dots: boolean, maxLength = 63): string {
  const inner = dots ? '[a-z0-9.-]' : '[a-z0-9-]';
  return `^$|^${BUCKET_NAME_EXCLUSIONS}[a-z0-9]${inner}{1,${maxLength - 2}}[a-z0-9]$`;
}

/** A DynamoDB table name: 3 to 255 of `A-Z a-z 0-9 _ . -`. */
export const TABLE_NAME_PATTERN = '^[A-Za-z0-9_.-]{3,255}$';

/**
 * A Terraform state key: no leading or trailing `/`, no `//`. Stricter than
 * `stateKeyFaults` in two ways, both because a parameter's value reaches the
 * emitted HCL unescaped: printable ASCII only, without `"`, `\` and the
 * template introducers `${` and `%{` (which the construct escapes in a literal
 * key); and ASCII makes `MaxLength` (characters) S3's 1024-byte limit.
 */
export const STATE_KEY_PATTERN = '^(?!/)(?!.*//)(?!.*/$)(?!.*[$%]\\{)[\\x20\\x21\\x23-\\x5B\\x5D-\\x7E]+$';

/** An SSM parameter path prefix: `/`, up to 14 levels each ending in `/`, not under `/aws` or `/ssm` (any case). */
export const DISCOVERY_PREFIX_PATTERN = '^(?!/[aA][wW][sS])(?!/[sS][sS][mM])/(?:[A-Za-z0-9_.-]+/){0,14}$';

/** The parameter names, as the templates, the index and the landing-zone entries use them. */
export const PARAMETER = {
  bucketName: 'BucketName',
  lockTableName: 'LockTableName',
  stateKey: 'StateKey',
  noncurrentVersionExpirationDays: 'NoncurrentVersionExpirationDays',
  noncurrentVersionsToRetain: 'NoncurrentVersionsToRetain',
  organizationId: 'OrganizationId',
  discoveryPrefix: 'DiscoveryPrefix',
  replicaRegion: 'ReplicaRegion',
  sourceRegion: 'SourceRegion',
  sourceBucketName: 'SourceBucketName',
} as const;

/** What a bucket name parameter's constraint description says of its shape. */
function bucketNameRule(dots: boolean, maxLength: number): string {
  return `an S3 bucket name (3 to ${maxLength} lowercase letters, digits${dots ? ', dots' : ''} and hyphens, a letter or digit at both ends, ` +
    'no reserved prefix or suffix), or empty for the default';
}

/**
 * The parameter `BucketName`: empty means `terraform-state-<account>-<region>`.
 * In a template that replicates, at most 55 characters: the replica bucket is
 * `<bucket name>-replica`.
 */
export function bucketNameParameter(dots: boolean, replicated = false): CfnParameterProps {
  const maxLength = replicated ? REPLICATED_BUCKET_NAME_MAX_LENGTH : 63;
  return {
    type: 'String',
    default: '',
    description: 'Name of the S3 bucket that holds state. Empty: terraform-state-<account>-<region>, from the stack\'s account and region' +
      (dots ? '' : '. No dots: the KMS key\'s alias is alias/<bucket name>') +
      (replicated ? `. At most ${maxLength} characters: the replica bucket is <bucket name>-replica` : ''),
    allowedPattern: bucketNamePattern(dots, maxLength),
    constraintDescription: bucketNameRule(dots, maxLength),
  };
}

/** The parameter `LockTableName`. */
export function lockTableNameParameter(defaultName: string): CfnParameterProps {
  return {
    type: 'String',
    default: defaultName,
    description: 'Name of the DynamoDB lock table (unique per account and region)',
    allowedPattern: TABLE_NAME_PATTERN,
    constraintDescription: 'a DynamoDB table name: 3 to 255 letters, digits, "_", "." and "-"',
  };
}

/** The parameter `StateKey`. */
export function stateKeyParameter(defaultKey: string): CfnParameterProps {
  return {
    type: 'String',
    default: defaultKey,
    minLength: 1,
    maxLength: 1024,
    description: 'The state key written into the emitted backend block (key): where the default workspace\'s state lives',
    allowedPattern: STATE_KEY_PATTERN,
    constraintDescription: 'a Terraform state key: printable ASCII, no leading or trailing "/", no "//", no quotes, backslashes, "${" or "%{"',
  };
}

/** The parameter `NoncurrentVersionExpirationDays`. */
export function expirationDaysParameter(defaultDays: number): CfnParameterProps {
  return {
    type: 'Number',
    default: defaultDays,
    minValue: 1,
    description: 'Days after which an old version of state expires, a whole number (the newest NoncurrentVersionsToRetain never do)',
  };
}

/** The parameter `NoncurrentVersionsToRetain`. */
export function versionsToRetainParameter(defaultCount: number): CfnParameterProps {
  return {
    type: 'Number',
    default: defaultCount,
    minValue: 1,
    maxValue: 100,
    description: 'Old versions of each state object that never expire, a whole number',
  };
}

/** The parameter `OrganizationId`: empty means no organization boundary. */
export function organizationIdParameter(defaultId: string): CfnParameterProps {
  return {
    type: 'String',
    default: defaultId,
    description: 'The AWS Organization (o-...) whose principals alone may use the state (bucket and key policies deny all others). Empty: no boundary',
    allowedPattern: `^$|${ORGANIZATION_ID_REGEX.source}`,
    constraintDescription: 'an organization ID: "o-" and 10 to 32 lowercase letters or digits, or empty for no boundary',
  };
}

/** The parameter `DiscoveryPrefix`. */
export function discoveryPrefixParameter(defaultPrefix: string): CfnParameterProps {
  return {
    type: 'String',
    default: defaultPrefix,
    description: 'Path prefix of the SSM parameters that publish the backend\'s settings (unique per account and region)',
    allowedPattern: DISCOVERY_PREFIX_PATTERN,
    constraintDescription: 'an SSM path that starts and ends with "/", holds only letters, digits, "_", ".", "-" and "/", ' +
      'has at most 14 levels and does not start with "/aws" or "/ssm"',
  };
}

/** A parameter that names a region, with no default. */
function regionParameter(description: string): CfnParameterProps {
  return { type: 'String', description, allowedPattern: REGION_REGEX.source, constraintDescription: 'an AWS region name such as eu-central-1' };
}

/** The parameter `ReplicaRegion` (no default: a replicated backend must name it). */
export function replicaRegionParameter(): CfnParameterProps {
  return regionParameter('The region of the replica bucket (deployed there first, from the replica template); another region than this stack\'s');
}

/** The replica template's parameter `SourceRegion` (no default: a replica must name its backend's region). */
export function sourceRegionParameter(): CfnParameterProps {
  return regionParameter('The region of the backend that replicates into this replica (whose ReplicaRegion is this stack\'s region); ' +
    'another region than this stack\'s. With SourceBucketName empty, the source bucket is terraform-state-<account>-<SourceRegion>');
}

/**
 * The replica template's parameter `SourceBucketName`: empty means
 * `terraform-state-<account>-<SourceRegion>`, the default name of the backend
 * in that region. No dots (the replica key's alias is `alias/<replica bucket>`)
 * and at most 55 characters, as the replicated backend's `BucketName`.
 */
export function sourceBucketNameParameter(): CfnParameterProps {
  return {
    type: 'String',
    default: '',
    description: 'The BucketName of the backend that replicates into this replica: the replica bucket is <SourceBucketName>-replica, ' +
      'its key\'s alias alias/<replica bucket>. Empty: terraform-state-<account>-<SourceRegion>, the backend\'s default (keep it empty ' +
      `for a StackSet). No dots, at most ${REPLICATED_BUCKET_NAME_MAX_LENGTH} characters`,
    allowedPattern: bucketNamePattern(false, REPLICATED_BUCKET_NAME_MAX_LENGTH),
    constraintDescription: bucketNameRule(false, REPLICATED_BUCKET_NAME_MAX_LENGTH),
  };
}
