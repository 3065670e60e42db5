import { Annotations, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib/core';
import { IConstruct } from 'constructs';
import { DataProtectionOptions, LockingMode, ReplicaEncryption, StateEncryption } from '../state-settings';
import type { BackendSettings } from './defaults';
import { replicaBucketName } from './replica-names';
import type { BackendAttributesShape, BackendPropsShape, DiscoveryOptionsShape, ReplicaPropsShape, StackSetPropsShape } from './shapes';
import { ORGANIZATION_ID_REGEX, REGION_REGEX } from './template-parameters';

/**
 * Internal: all validation, in one place. First the rules (pure, token-aware
 * checks of the names and keys a Terraform `s3` backend uses), then what each
 * construct checks of its props.
 *
 * Every function returns the list of faults it found (empty when the value is
 * fine) so that a construct can report all of them in one error. A value that
 * contains an unresolved token is never judged: only its literal parts could be
 * checked, and a partial verdict would be a guess.
 */

const BUCKET_RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const BUCKET_RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Quote a value for an error message, so that empty strings and spaces are visible. */
export function show(value: string): string {
  return JSON.stringify(value);
}

/**
 * Faults of an S3 general purpose bucket name.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function bucketNameFaults(prop: string, name: string): string[] {
  if (Token.isUnresolved(name)) {
    return [];
  }
  const faults: string[] = [];
  const at = `\`${prop}\``;
  if (name.length < 3 || name.length > 63) {
    faults.push(`${at} must be 3 to 63 characters, got ${name.length}: ${show(name)}`);
  }
  const bad = [...new Set(name.replace(/[a-z0-9.-]/g, ''))];
  if (bad.length > 0) {
    faults.push(`${at} may contain only lowercase letters, digits, "." and "-", got ${bad.map(show).join(', ')} in ${show(name)}`);
  }
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    faults.push(`${at} must start and end with a lowercase letter or digit, got ${show(name)}`);
  }
  for (const seq of ['..', '.-', '-.']) {
    if (name.includes(seq)) {
      faults.push(`${at} must not contain ${show(seq)}, got ${show(name)}`);
    }
  }
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) {
    faults.push(`${at} must not be formatted as an IP address, got ${show(name)}`);
  }
  for (const prefix of BUCKET_RESERVED_PREFIXES) {
    if (name.startsWith(prefix)) {
      faults.push(`${at} must not start with the reserved prefix ${show(prefix)}, got ${show(name)}`);
    }
  }
  for (const suffix of BUCKET_RESERVED_SUFFIXES) {
    if (name.endsWith(suffix)) {
      faults.push(`${at} must not end with the reserved suffix ${show(suffix)}, got ${show(name)}`);
    }
  }
  return faults;
}

/**
 * Faults of a DynamoDB table name: 3 to 255 characters of `A-Z a-z 0-9 _ . -`.
 *
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
 */
export function tableNameFaults(prop: string, name: string): string[] {
  if (Token.isUnresolved(name)) {
    return [];
  }
  const faults: string[] = [];
  const at = `\`${prop}\``;
  if (name.length < 3 || name.length > 255) {
    faults.push(`${at} must be 3 to 255 characters, got ${name.length}: ${show(name)}`);
  }
  const bad = [...new Set(name.replace(/[A-Za-z0-9_.-]/g, ''))];
  if (bad.length > 0) {
    faults.push(`${at} may contain only letters, digits, "_", "." and "-", got ${bad.map(show).join(', ')} in ${show(name)}`);
  }
  return faults;
}

/**
 * Faults of the `key` Terraform writes state to: non-empty, no leading or
 * trailing `/`, no `//` (Terraform rejects these), at most 1024 bytes (S3's
 * object key limit).
 */
export function stateKeyFaults(prop: string, key: string): string[] {
  if (Token.isUnresolved(key)) {
    return [];
  }
  const at = `\`${prop}\``;
  if (key.length === 0) {
    return [`${at} must not be empty`];
  }
  const faults: string[] = [];
  if (key.startsWith('/') || key.endsWith('/')) {
    faults.push(`${at} must not start or end with "/", got ${show(key)}`);
  }
  if (key.includes('//')) {
    faults.push(`${at} must not contain "//", got ${show(key)}`);
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > 1024) {
    faults.push(`${at} must be at most 1024 bytes (S3's key limit), got ${bytes} bytes`);
  }
  return faults;
}

/**
 * Faults of Terraform's `workspace_key_prefix`: no leading or trailing `/`.
 * An empty prefix is valid: Terraform then keeps workspace state at
 * `<workspace>/<key>`.
 */
export function workspaceKeyPrefixFaults(prop: string, prefix: string): string[] {
  if (Token.isUnresolved(prefix)) {
    return [];
  }
  const at = `\`${prop}\``;
  if (prefix.startsWith('/') || prefix.endsWith('/')) {
    return [`${at} must not start or end with "/", got ${show(prefix)}`];
  }
  return [];
}

/**
 * Faults of a whole number that must lie in `[min, max]`.
 */
export function integerRangeFaults(prop: string, value: number, min: number, max: number): string[] {
  if (Token.isUnresolved(value)) {
    return [];
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    return [`\`${prop}\` must be a whole number from ${min} to ${max}, got ${value}`];
  }
  return [];
}

/**
 * Faults of a duration that S3 lifecycle rules take: a whole number of days, at least one.
 */
export function lifecycleDaysFaults(prop: string, value: Duration): string[] {
  if (value.isUnresolved()) {
    return [];
  }
  const days = value.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1) {
    return [`\`${prop}\` must be a whole number of days, at least 1, got ${value.toHumanString()}`];
  }
  return [];
}

/**
 * Faults of an IAM principal ARN as `aws:PrincipalArn` matches it
 * (`arn:<partition>:iam::<account>:root|user/...|role/...`, or an STS
 * `federated-user/...`); `*` and `?` wildcards are allowed. Role sessions
 * (`sts::...:assumed-role/...`) are refused: for them `aws:PrincipalArn` is the
 * role's ARN, so such an entry would never match.
 */
export function principalArnFaults(prop: string, arn: string): string[] {
  if (Token.isUnresolved(arn)) {
    return [];
  }
  if (!/^arn:aws(-[a-z]+)*:(iam::[0-9*?]{1,12}:(root|user\/.+|role\/.+)|sts::[0-9*?]{1,12}:federated-user\/.+)$/.test(arn)) {
    return [`\`${prop}\` must hold IAM principal ARNs such as "arn:aws:iam::123456789012:role/StateAdmin", got ${show(arn)}`];
  }
  return [];
}

/**
 * Faults of an AWS region name such as `eu-west-1` or `us-gov-west-1`.
 */
export function regionFaults(prop: string, region: string): string[] {
  if (Token.isUnresolved(region)) {
    return [];
  }
  if (!REGION_REGEX.test(region)) {
    return [`\`${prop}\` must be an AWS region name such as "eu-central-1", got ${show(region)}`];
  }
  return [];
}

/**
 * Faults of the ARN of a KMS key (`arn:<partition>:kms:<region>:<account>:key/<id>`)
 * that must belong to `account` and `region` (when both sides are known). An
 * alias ARN is refused: in an IAM policy's `Resource` it governs the alias,
 * not the key.
 */
export function kmsKeyArnFaults(prop: string, arn: string, account: string, region: string): string[] {
  if (Token.isUnresolved(arn)) {
    return [];
  }
  const at = `\`${prop}\``;
  const match = /^arn:aws(?:-[a-z]+)*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/.exec(arn);
  if (!match) {
    return [`${at} must be a KMS key ARN such as "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", got ${show(arn)}`];
  }
  const [, arnRegion, arnAccount, kind] = match;
  if (kind === 'alias') {
    return [`${at} must name the key, not an alias: in an IAM policy's Resource an alias ARN governs only the alias; ` +
      `give the key's ARN (".../key/<key id>", from \`aws kms describe-key --key-id alias/...\`), got ${show(arn)}`];
  }
  const faults: string[] = [];
  if (!Token.isUnresolved(account) && arnAccount !== account) {
    faults.push(`${at} names a key of account ${arnAccount}, but the backend is in account ${account}: ${show(arn)}`);
  }
  if (!Token.isUnresolved(region) && arnRegion !== region) {
    faults.push(`${at} names a key in ${arnRegion}, but the backend is in ${region}: ${show(arn)}`);
  }
  return faults;
}

/**
 * Faults of an AWS Organizations organization ID: `o-` and 10 to 32 lowercase
 * letters or digits.
 */
export function organizationIdFaults(prop: string, id: string): string[] {
  if (Token.isUnresolved(id)) {
    return [];
  }
  return ORGANIZATION_ID_REGEX.test(id) ? [] : [`\`${prop}\` must be "o-" and 10 to 32 lowercase letters or digits, got ${show(id)}`];
}

/**
 * Faults of a StackSet deployment target: an organizational unit ID (`ou-`, 4
 * to 32 lowercase letters or digits (the root's ID), `-`, and 8 to 32 lowercase
 * letters or digits), or the organization root's ID (`r-` and 4 to 32
 * lowercase letters or digits).
 */
export function organizationalUnitIdFaults(prop: string, id: string): string[] {
  if (Token.isUnresolved(id)) {
    return [];
  }
  return /^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$/.test(id) ? [] : [
    `\`${prop}\` must hold organizational unit IDs such as "ou-ab12-cd34ef56" or the root's ID such as "r-ab12", got ${show(id)}`,
  ];
}

/**
 * Faults of a list whose values must be distinct; unresolved tokens are not compared.
 *
 * @param what what one value is, e.g. "a region"
 */
export function repeatedValueFaults(prop: string, what: string, values: string[]): string[] {
  const literal = values.filter((v) => !Token.isUnresolved(v));
  const repeated = [...new Set(literal.filter((v, i) => literal.indexOf(v) !== i))];
  return repeated.length > 0 ? [`\`${prop}\` must not repeat ${what}, got ${repeated.map(show).join(', ')} twice`] : [];
}

/**
 * Faults of an SSM parameter path prefix: starts and ends with `/`, letters,
 * digits and `_.-/` only.
 */
export function discoveryPrefixFaults(prop: string, prefix: string): string[] {
  if (Token.isUnresolved(prefix)) {
    return [];
  }
  const faults = /^\/([A-Za-z0-9_.-]+\/)*$/.test(prefix) && !prefix.toLowerCase().startsWith('/aws') && !prefix.toLowerCase().startsWith('/ssm')
    ? []
    : [`\`${prop}\` must start and end with "/", hold only letters, digits, "_", ".", "-" and "/", and not start with "/aws" or "/ssm", got ${show(prefix)}`];
  // SSM allows 15 levels; the parameter's own name is one more.
  const levels = prefix.split('/').length - 2;
  if (levels > 14) {
    faults.push(`\`${prop}\` must have at most 14 levels (SSM allows 15, the parameter name is one), got ${levels}: ${show(prefix)}`);
  }
  return faults;
}

/**
 * Faults of an enum prop given a value that is none of the enum's (possible from JavaScript).
 */
export function enumFaults(prop: string, value: string | undefined, values: Record<string, string>): string[] {
  const allowed = Object.values(values);
  return value === undefined || allowed.includes(value) ? [] : [`\`${prop}\` must be one of ${allowed.join(', ')}, got ${show(value)}`];
}

/**
 * Throws one error listing every fault, or returns when there are none.
 *
 * @param what what was being validated, e.g. the construct's path
 */
export function throwIfFaults(what: string, faults: string[]): void {
  if (faults.length === 0) {
    return;
  }
  throw new Error(faultsMessage(what, faults));
}

/** One message listing every fault. */
export function faultsMessage(what: string, faults: string[]): string {
  return `Invalid props for ${what}:\n${faults.map((f) => `  - ${f}`).join('\n')}`;
}

/**
 * Reports a construct's prop faults the CDK way, as one error annotation on
 * it: `cdk synth` prints `[Error at /Stack/Construct] Invalid props ...` and
 * exits non-zero, with no stack trace. Returns the message, or undefined when
 * there are no faults; a construct with faults builds nothing, so that no
 * invalid value reaches aws-cdk-lib (whose own checks would throw first).
 */
export function reportFaults(scope: IConstruct, faults: string[]): string | undefined {
  if (faults.length === 0) {
    return undefined;
  }
  const message = faultsMessage(scope.node.path, faults);
  Annotations.of(scope).addError(message);
  return message;
}

/**
 * Faults of the data-protection props that a backend and a replica share.
 *
 * @param at the path of the props, e.g. `backend.` in a StackSet's props
 */
export function dataProtectionFaults(props: DataProtectionOptions, at = ''): string[] {
  const faults: string[] = [];
  if (props.removalPolicy === RemovalPolicy.SNAPSHOT) {
    faults.push(`\`${at}removalPolicy\` must be RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY, got SNAPSHOT, which S3 buckets do not support`);
  }
  if (props.noncurrentVersionExpiration) {
    faults.push(...lifecycleDaysFaults(`${at}noncurrentVersionExpiration`, props.noncurrentVersionExpiration));
  }
  if (props.noncurrentVersionsToRetain !== undefined) {
    faults.push(...integerRangeFaults(`${at}noncurrentVersionsToRetain`, props.noncurrentVersionsToRetain, 1, 100));
  }
  if (props.serverAccessLogsRetention) {
    faults.push(...lifecycleDaysFaults(`${at}serverAccessLogsRetention`, props.serverAccessLogsRetention));
  }
  for (const arn of props.stateHistoryAdmins ?? []) {
    faults.push(...principalArnFaults(`${at}stateHistoryAdmins`, arn));
  }
  if (props.protectStateHistory === false && (props.stateHistoryAdmins ?? []).length > 0) {
    faults.push(`\`${at}stateHistoryAdmins\` is set, but \`${at}protectStateHistory\` is false; without the deny there is nothing to exempt them from`);
  }
  if (props.organizationId !== undefined) {
    faults.push(...organizationIdFaults(`${at}organizationId`, props.organizationId));
  }
  if (props.lockFileTag !== undefined) {
    faults.push(...objectTagFaults(`${at}lockFileTag`, props.lockFileTag.key, props.lockFileTag.value));
  }
  return faults;
}

/**
 * Faults of an S3 object tag: a key of 1 to 128 characters not starting with
 * `aws:`, a value of up to 256, both of letters, digits, spaces and `_.:/=+-@`.
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
 */
export function objectTagFaults(prop: string, key: string, value: string): string[] {
  const faults: string[] = [];
  const allowed = /^[\p{L}\p{N}\p{Zs}_.:/=+\-@]*$/u;
  if (!Token.isUnresolved(key) && (key.length < 1 || key.length > 128 || !allowed.test(key) || key.toLowerCase().startsWith('aws:'))) {
    faults.push(`\`${prop}.key\` must be 1 to 128 letters, digits, spaces or "_.:/=+-@", not starting with "aws:", got ${show(key)}`);
  }
  if (!Token.isUnresolved(value) && (value.length > 256 || !allowed.test(value))) {
    faults.push(`\`${prop}.value\` must be up to 256 letters, digits, spaces or "_.:/=+-@", got ${show(value)}`);
  }
  return faults;
}

/**
 * Faults of a `TerraformStateBackend`'s props, judged with the settings they
 * resolve to.
 *
 * @param region the backend's region
 * @param at the path of the props, e.g. `backend.` in a StackSet's props
 */
export function backendFaults(props: BackendPropsShape, settings: BackendSettings, region: string, at = ''): string[] {
  const p = (name: string) => `\`${at}${name}\``;
  const { locking, encryption, accessLogs } = settings;
  const faults = [
    ...enumFaults(`${at}locking`, props.locking, LockingMode),
    ...enumFaults(`${at}encryption`, props.encryption, StateEncryption),
    ...bucketNameFaults(`${at}bucketName`, settings.bucketName),
    ...stateKeyFaults(`${at}stateKey`, settings.stateKey),
  ];
  if (props.lockTableName !== undefined) {
    faults.push(...tableNameFaults(`${at}lockTableName`, props.lockTableName));
    if (locking === LockingMode.S3_LOCKFILE) {
      faults.push(`${p('lockTableName')} is set to ${show(props.lockTableName)}, but ${p('locking')} is S3_LOCKFILE, which makes no table`);
    }
  }
  if (props.workspaceKeyPrefix !== undefined) {
    faults.push(...workspaceKeyPrefixFaults(`${at}workspaceKeyPrefix`, props.workspaceKeyPrefix));
  }
  if (props.encryptionKey && encryption !== StateEncryption.KMS) {
    faults.push(`${p('encryptionKey')} is set, but ${p('encryption')} is ${encryption}; a customer-managed key needs StateEncryption.KMS`);
  }
  faults.push(...dataProtectionFaults({ ...props, organizationId: undefined }, at));
  if (!accessLogs && props.serverAccessLogsBucket) {
    faults.push(`${p('serverAccessLogsBucket')} is set, but ${p('serverAccessLogs')} is false; drop one of them`);
  }
  if (props.replication) {
    faults.push(...regionFaults(`${at}replication.region`, props.replication.region));
    if (!Token.isUnresolved(props.replication.region) && !Token.isUnresolved(region) && props.replication.region === region) {
      faults.push(`${p('replication.region')} must differ from the backend's region, got ${show(region)} for both`);
    }
    if (props.replication.bucketName !== undefined) {
      faults.push(...bucketNameFaults(`${at}replication.bucketName`, props.replication.bucketName));
    } else {
      faults.push(...derivedReplicaNameFaults(`${at}replication.bucketName`, `${at}bucketName`, settings.bucketName,
        'and the same name as the replica\'s `bucketName`'));
    }
    if (encryption === StateEncryption.KMS_MANAGED) {
      faults.push(`${p('replication')} is set, but ${p('encryption')} is KMS_MANAGED, whose aws/s3 key cannot be opened to the replication role; use KMS or S3_MANAGED`);
    }
    if (props.replication.kmsKeyArn !== undefined && encryption !== StateEncryption.KMS) {
      faults.push(`${p('replication.kmsKeyArn')} is set, but ${p('encryption')} is ${encryption}; replicas are KMS-encrypted only with StateEncryption.KMS`);
    }
  }
  if (props.organizationId !== undefined) {
    faults.push(...organizationIdFaults(`${at}organizationId`, props.organizationId));
  }
  if (props.discoveryPrefix !== undefined) {
    faults.push(...discoveryPrefixFaults(`${at}discoveryPrefix`, props.discoveryPrefix));
    if (props.discovery === false) {
      faults.push(`${p('discoveryPrefix')} is set to ${show(props.discoveryPrefix)}, but ${p('discovery')} is false`);
    }
  }
  if (!accessLogs && props.serverAccessLogsPrefix !== undefined) {
    faults.push(`${p('serverAccessLogsPrefix')} is set to ${show(props.serverAccessLogsPrefix)}, but ${p('serverAccessLogs')} is false`);
  }
  return faults;
}

/**
 * Faults of the replica bucket name derived from a source bucket's,
 * `<source>-replica`: only its length can break S3's rules, when the source's
 * name has more than 55 characters.
 *
 * @param prop the prop that sets the replica's name instead
 * @param sourceProp the prop the name derives from
 * @param also what else to set, for the message
 */
function derivedReplicaNameFaults(prop: string, sourceProp: string, sourceBucketName: string, also: string): string[] {
  const derived = replicaBucketName(sourceBucketName);
  return bucketNameFaults(prop, derived).map((fault) =>
    `${fault} (the default, \`${sourceProp}\` and "-replica"): give \`${prop}\` a name of at most 63 characters, ${also}`);
}

/**
 * Faults of a `TerraformStateReplica`'s props.
 *
 * @param stack the replica's stack, to tell what a `sourceBucketName` resolves to there
 */
export function replicaFaults(props: ReplicaPropsShape, stack: Stack): string[] {
  const faults = [
    ...enumFaults('encryption', props.encryption, ReplicaEncryption),
    ...(props.bucketName === undefined ? [] : bucketNameFaults('bucketName', props.bucketName)),
    ...dataProtectionFaults(props),
  ];
  const source = props.sourceBucketName;
  if (source === undefined && props.bucketName === undefined) {
    faults.push('`sourceBucketName` or `bucketName` must be set: the replica bucket is named after the state bucket that replicates ' +
      'into it (`<sourceBucketName>-replica`), so that every backend\'s replica is its own. The default of earlier versions, ' +
      'terraform-state-replica-<account>-<region>, was one bucket for every backend of the account replicating into this region, ' +
      'which mixes their state there. Give `sourceBucketName` (the backend\'s `bucketName`) for a new replica; to keep a replica ' +
      'deployed with that default, into which only one backend replicates, give its name as `bucketName` (and the same as the ' +
      'backend\'s `replication.bucketName`)');
  } else if (source !== undefined && props.bucketName !== undefined) {
    faults.push(`\`sourceBucketName\` is set to ${show(source)}, but \`bucketName\` names the replica bucket, so it would not be ` +
      'used: drop one of them');
  } else if (source !== undefined && JSON.stringify(stack.resolve(source)).includes('"AWS::Region"')) {
    faults.push('`sourceBucketName` refers to the AWS::Region pseudo parameter, which in the replica\'s stack is the replica\'s region, ' +
      'not the backend\'s (the name of a backend in an environment-agnostic stack is built from it): give the backend\'s region ' +
      'literally, e.g. `terraform-state-${Aws.ACCOUNT_ID}-eu-west-1`, or the backend\'s stack an `env`');
  } else if (source !== undefined) {
    faults.push(...bucketNameFaults('sourceBucketName', source),
      ...derivedReplicaNameFaults('bucketName', 'sourceBucketName', source, 'and the same name as the backend\'s `replication.bucketName`'));
  }
  return faults;
}

/** The props a StackSet's backend cannot take, and why. */
const NOT_STACK_SET_OPTIONS = [
  ['bucketName', 'bucket names are global: in a StackSet each account and region derives its own (terraform-state-<account>-<region>)'],
  ['encryptionKey', 'a key of this app cannot serve other accounts; use `encryption: StateEncryption.KMS` for a key per account and region'],
  ['serverAccessLogsBucket', 'a bucket of this app cannot receive other accounts\' logs; each account gets its own log bucket'],
  ['replication', 'each replica stack must be deployed before its backend, which one StackSet cannot order; replicate with per-account stacks'],
] as const;

/**
 * Faults of a `TerraformStateBackendStackSet`'s props, its backend options
 * included (judged by the backend's own rules, named `backend.<prop>`).
 *
 * @param backendSettings what the backend options resolve to in every account and region
 * @param region the region every stack instance has (a token)
 */
export function stackSetFaults(props: StackSetPropsShape, backendSettings: BackendSettings, region: string): string[] {
  const faults: string[] = [];
  if (props.organizationalUnitIds.length === 0) {
    faults.push('`organizationalUnitIds` must name at least one organizational unit');
  }
  for (const ou of props.organizationalUnitIds) {
    faults.push(...organizationalUnitIdFaults('organizationalUnitIds', ou));
  }
  faults.push(...repeatedValueFaults('organizationalUnitIds', 'an organizational unit', props.organizationalUnitIds));
  if (props.regions.length === 0) {
    faults.push('`regions` must name at least one region');
  }
  for (const r of props.regions) {
    faults.push(...regionFaults('regions', r));
  }
  faults.push(...repeatedValueFaults('regions', 'a region', props.regions));
  if (props.maxConcurrentPercentage !== undefined) {
    faults.push(...integerRangeFaults('maxConcurrentPercentage', props.maxConcurrentPercentage, 1, 100));
  }
  if (props.failureTolerancePercentage !== undefined) {
    faults.push(...integerRangeFaults('failureTolerancePercentage', props.failureTolerancePercentage, 0, 100));
  }
  // Not offered by TerraformStateBackendOptions; a JavaScript caller can still
  // pass them, and they must not be applied to every account unnoticed.
  const backend = (props.backend ?? {}) as BackendPropsShape;
  for (const [prop, why] of NOT_STACK_SET_OPTIONS) {
    if (backend[prop] !== undefined) {
      faults.push(`\`backend.${prop}\` is not a StackSet backend option: ${why}`);
    }
  }
  const offered: BackendPropsShape = {
    ...backend, bucketName: undefined, encryptionKey: undefined, serverAccessLogsBucket: undefined, replication: undefined,
  };
  faults.push(...backendFaults(offered, backendSettings, region, 'backend.'));
  return faults;
}

/**
 * Faults of the attributes of an imported backend.
 *
 * @param locking the locking mode they resolve to
 * @param encryption the encryption they resolve to
 * @param hasKey whether the import knows its key (given, or read from discovery)
 */
export function importFaults(attrs: BackendAttributesShape, locking: LockingMode, encryption: StateEncryption,
  hasKey = attrs.encryptionKey !== undefined): string[] {
  const faults = [
    ...enumFaults('locking', attrs.locking, LockingMode),
    ...enumFaults('encryption', attrs.encryption, StateEncryption),
    ...bucketNameFaults('bucketName', attrs.bucketName),
    ...(attrs.region === undefined ? [] : regionFaults('region', attrs.region)),
    ...(attrs.account === undefined || Token.isUnresolved(attrs.account) || /^\d{12}$/.test(attrs.account) ? []
      : [`\`account\` must be a 12-digit AWS account ID, got ${show(attrs.account)}`]),
    ...stateKeyFaults('stateKey', attrs.stateKey ?? 'terraform.tfstate'),
    ...(attrs.workspaceKeyPrefix === undefined ? [] : workspaceKeyPrefixFaults('workspaceKeyPrefix', attrs.workspaceKeyPrefix)),
    ...(attrs.discoveryPrefix === undefined ? [] : discoveryPrefixFaults('discoveryPrefix', attrs.discoveryPrefix)),
  ];
  if (attrs.lockTableName !== undefined) {
    faults.push(...tableNameFaults('lockTableName', attrs.lockTableName));
    if (locking === LockingMode.S3_LOCKFILE) {
      faults.push(`\`lockTableName\` is set to ${show(attrs.lockTableName)}, but \`locking\` is S3_LOCKFILE, which uses no table`);
    }
  }
  if (hasKey && encryption !== StateEncryption.KMS) {
    faults.push(`\`encryptionKey\` is set, but \`encryption\` is ${encryption}; a customer-managed key needs StateEncryption.KMS`);
  }
  if (!hasKey && encryption === StateEncryption.KMS) {
    faults.push('`encryption` is KMS, but `encryptionKey` is not set; Terraform must name the key in `kms_key_id`, and grants need it');
  }
  return faults;
}

/** Faults of the options of `TerraformStateBackend.fromDiscovery()`. */
export function discoveryImportFaults(options: DiscoveryOptionsShape): string[] {
  return [
    ...enumFaults('locking', options.locking, LockingMode),
    ...enumFaults('encryption', options.encryption, StateEncryption),
    ...(options.prefix === undefined ? [] : discoveryPrefixFaults('prefix', options.prefix)),
  ];
}
