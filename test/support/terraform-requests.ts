/**
 * Terraform's recorded requests (test/fixtures/terraform-requests/*.json) and what
 * IAM authorizes for each: the fixtures' format, their normalisation, and the
 * mapping from a recorded HTTP request to the IAM requests AWS evaluates for it.
 *
 * The S3 and DynamoDB requests are Terraform's own, recorded. The KMS requests are
 * not: S3 makes them on the caller's behalf for SSE-KMS objects, out of the
 * caller's sight, so they are derived here from AWS's documentation (quoted below).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { RecordedRequest } from './request-recorder';

export const FIXTURES_DIR = path.resolve(__dirname, '..', 'fixtures', 'terraform-requests');

/** One Terraform command and the requests it sent, in order. */
export interface RecordedOperation {
  /** What the grants' documentation calls it: `init`, `plan`, `apply`, `workspace new`, ... */
  readonly name: string;
  /** The command line, with the placeholders of the fixture. */
  readonly command: string;
  readonly requests: readonly RecordedRequest[];
}

/** A fixture: the operations of one locking mode and encryption. */
export interface RequestFixture {
  readonly terraformVersion: string;
  readonly locking: string;
  readonly encryption: string;
  /** The backend config file Terraform was given (the construct's, placeholders for names). */
  readonly backendConfig: string;
  readonly operations: readonly RecordedOperation[];
}

/**
 * The placeholders of the fixtures: the names a recording ran with are replaced by
 * these, and an evaluation puts the names of the stack it judges back in.
 */
export interface FixtureNames {
  readonly bucket: string;
  readonly table?: string;
  /** The customer key's ARN (KMS). */
  readonly keyArn?: string;
  /** The backend's account. */
  readonly account: string;
}

const PLACEHOLDERS: Array<[keyof FixtureNames, string]> = [['keyArn', '{keyArn}'], ['bucket', '{bucket}'], ['table', '{table}'], ['account', '{account}']];

/** Replaces the names in every string of `value` with the placeholders (`toPlaceholders`) or back. */
export function substitute<T>(value: T, names: FixtureNames, toPlaceholders: boolean): T {
  const pairs = PLACEHOLDERS.filter(([k]) => names[k] !== undefined).map(([k, p]) => (toPlaceholders ? [names[k]!, p] : [p, names[k]!]));
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return pairs.reduce((s, [from, to]) => s.split(from).join(to), v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [walk(k) as string, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** Object keys sorted at every level (Go marshals DynamoDB items from maps, in random order). */
export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)])) as T;
  }
  return value;
}

/**
 * The requests of one operation as a fixture keeps them: keys sorted, and without
 * the attempts moto gave no answer to or answered with a 5xx (the SDK retried them,
 * and the retry is recorded): they are the emulator's faults under load (TRAPS.md 11),
 * not Terraform's requests.
 */
export function normaliseRequests(requests: readonly RecordedRequest[], names: FixtureNames): RecordedRequest[] {
  return requests.filter((r) => r.status !== 0 && r.status < 500).map((r) => sortKeys(substitute(r, names, true)));
}

export function fixtureFile(locking: string, encryption: string): string {
  return path.join(FIXTURES_DIR, `${locking.toLowerCase()}-${encryption.toLowerCase()}.json`.replace(/_/g, '-'));
}

export function readFixture(locking: string, encryption: string): RequestFixture {
  return JSON.parse(fs.readFileSync(fixtureFile(locking, encryption), 'utf8')) as RequestFixture;
}

/** Writes a fixture with one request a line, so that a change shows as the lines of the requests that changed. */
export function writeFixture(fixture: RequestFixture): void {
  const { operations, ...head } = fixture;
  const ops = operations.map((o) => [
    '    {',
    `      "name": ${JSON.stringify(o.name)},`,
    `      "command": ${JSON.stringify(o.command)},`,
    '      "requests": [',
    o.requests.map((r) => `        ${JSON.stringify(r)}`).join(',\n'),
    '      ]',
    '    }',
  ].join('\n'));
  const text = `${JSON.stringify(head, undefined, 2).replace(/\n}$/, ',')}\n  "operations": [\n${ops.join(',\n')}\n  ]\n}\n`;
  if (JSON.stringify(JSON.parse(text)) !== JSON.stringify(fixture)) throw new Error('the fixture does not read back as written');
  fs.mkdirSync(FIXTURES_DIR, { recursive: true });
  fs.writeFileSync(fixtureFile(fixture.locking, fixture.encryption), text);
}

/** One request as IAM authorizes it. */
export interface IamRequest {
  /** `s3:GetObject`, `dynamodb:PutItem`, `kms:Decrypt`, ... */
  readonly action: string;
  readonly resource: string;
  /** The service-specific request context (the global keys are the evaluator's). */
  readonly context: Record<string, string | string[]>;
  /** For a KMS request S3 makes on the caller's behalf: true (derived, not recorded). */
  readonly viaS3?: boolean;
}

/** Where the requests were made: the backend's account and region. */
export interface RequestPlace {
  readonly region: string;
  readonly account: string;
  /** The ARN of the AWS managed key `aws/s3` of the backend's account and region. */
  readonly awsManagedS3KeyArn: string;
}

/** The key an SSE-KMS header or answer names, as a key ARN (`alias/aws/s3` is the account's AWS managed key). */
function keyArnOf(keyId: string | undefined, place: RequestPlace): string {
  if (keyId === undefined || keyId === 'alias/aws/s3' || keyId === `arn:aws:kms:${place.region}:${place.account}:alias/aws/s3`) {
    return place.awsManagedS3KeyArn;
  }
  if (!keyId.startsWith('arn:')) throw new Error(`a key ID that is not an ARN: ${keyId} (Terraform is given the key ARN)`);
  return keyId;
}

/**
 * The KMS request S3 makes for an SSE-KMS object, with the caller's permissions:
 *
 * > "To upload or download an object encrypted with an AWS KMS key to or from Amazon
 * > S3, you need kms:GenerateDataKey and kms:Decrypt permissions on the key."
 * > (Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)")
 *
 * > "kms:ViaService ... limits use of a KMS key to requests from specified AWS
 * > services" (AWS KMS Developer Guide, "AWS KMS condition keys"): S3 in the bucket's
 * > region, `s3.<region>.amazonaws.com`; `kms:CallerAccount` is the account of the
 * > principal S3 calls for.
 *
 * So: `kms:GenerateDataKey` for a `PutObject` with `x-amz-server-side-encryption:
 * aws:kms`, `kms:Decrypt` for a `GetObject` whose answer says `aws:kms`. A
 * `HeadObject` returns no data and makes no KMS call. `kms:ResourceAliases` is the
 * key's aliases, which the evaluator reads from the template.
 */
function viaS3(action: string, keyArn: string, place: RequestPlace): IamRequest {
  return { action, resource: keyArn, context: { 'kms:ViaService': `s3.${place.region}.amazonaws.com` }, viaS3: true };
}

/** The IAM requests of one recorded S3 request (path style: `/<bucket>[/<key>]`). */
function s3Requests(r: RecordedRequest, place: RequestPlace): IamRequest[] {
  const [, bucket, ...rest] = r.path.split('/');
  const key = rest.join('/');
  const q = r.query;
  if (key === '') {
    const bucketArn = `arn:aws:s3:::${bucket}`;
    if ((r.method === 'GET' && !('versions' in q) && !('location' in q)) || r.method === 'HEAD') {
      // ListObjectsV2 (`list-type=2`), ListObjects, HeadBucket: all s3:ListBucket.
      const context: Record<string, string> = {};
      for (const [param, contextKey] of [['prefix', 's3:prefix'], ['delimiter', 's3:delimiter'], ['max-keys', 's3:max-keys']]) {
        if (q[param] !== undefined) context[contextKey] = q[param];
      }
      return [{ action: 's3:ListBucket', resource: bucketArn, context }];
    }
    if (r.method === 'GET' && 'versions' in q) return [{ action: 's3:ListBucketVersions', resource: bucketArn, context: {} }];
    if (r.method === 'GET' && 'location' in q) return [{ action: 's3:GetBucketLocation', resource: bucketArn, context: {} }];
    throw new Error(`an S3 bucket request this mapping does not know: ${JSON.stringify(r)}`);
  }
  const objectArn = `arn:aws:s3:::${bucket}/${key}`;
  const version = q.versionId !== undefined;
  switch (r.method) {
    case 'HEAD':
      return [{ action: version ? 's3:GetObjectVersion' : 's3:GetObject', resource: objectArn, context: {} }];
    case 'GET': {
      const out: IamRequest[] = [{ action: version ? 's3:GetObjectVersion' : 's3:GetObject', resource: objectArn, context: {} }];
      if (r.status < 300 && r.responseHeaders?.['x-amz-server-side-encryption'] === 'aws:kms') {
        out.push(viaS3('kms:Decrypt', keyArnOf(r.responseHeaders['x-amz-server-side-encryption-aws-kms-key-id'], place), place));
      }
      return out;
    }
    case 'PUT':
    case 'POST': {
      if (r.headers['x-amz-copy-source'] !== undefined || (r.method === 'POST' && !('uploads' in q) && !('uploadId' in q))) {
        throw new Error(`an S3 object request this mapping does not know: ${JSON.stringify(r)}`);
      }
      // PutObject, and the multipart upload's CreateMultipartUpload, UploadPart and CompleteMultipartUpload.
      const context: Record<string, string> = {};
      for (const header of ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-acl', 'if-none-match']) {
        if (r.headers[header] !== undefined) context[`s3:${header}`] = r.headers[header];
      }
      const out: IamRequest[] = [{ action: 's3:PutObject', resource: objectArn, context }];
      if (r.headers['x-amz-server-side-encryption'] === 'aws:kms') {
        out.push(viaS3('kms:GenerateDataKey', keyArnOf(r.headers['x-amz-server-side-encryption-aws-kms-key-id'], place), place));
      }
      return out;
    }
    case 'DELETE':
      if ('uploadId' in q) return [{ action: 's3:AbortMultipartUpload', resource: objectArn, context: {} }];
      return [{ action: version ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: objectArn, context: {} }];
    default:
      throw new Error(`an S3 object request this mapping does not know: ${JSON.stringify(r)}`);
  }
}

type AttributeValue = { S?: string };

/** The IAM request of one DynamoDB JSON request: the action from `X-Amz-Target`, the leading key from `Key` or `Item`. */
function dynamodbRequests(r: RecordedRequest, place: RequestPlace): IamRequest[] {
  const target = r.headers['x-amz-target'];
  const m = /^DynamoDB_20120810\.(\w+)$/.exec(target ?? '');
  if (!m) throw new Error(`a DynamoDB request without a known X-Amz-Target: ${JSON.stringify(r)}`);
  const body = r.body ?? {};
  const item = (body.Key ?? body.Item) as Record<string, AttributeValue> | undefined;
  const leading = item?.LockID?.S;
  return [{
    action: `dynamodb:${m[1]}`,
    resource: `arn:aws:dynamodb:${place.region}:${place.account}:table/${body.TableName as string}`,
    context: leading === undefined ? {} : { 'dynamodb:LeadingKeys': [leading] },
  }];
}

/** The IAM requests of one SSM JSON request: `GetParameters` is authorized parameter by parameter. */
function ssmRequests(r: RecordedRequest, place: RequestPlace): IamRequest[] {
  const m = /^AmazonSSM\.(\w+)$/.exec(r.headers['x-amz-target'] ?? '');
  if (!m) throw new Error(`an SSM request without a known X-Amz-Target: ${JSON.stringify(r)}`);
  const body = r.body ?? {};
  const names = (body.Names as string[] | undefined) ?? [body.Name as string];
  return names.map((name) => ({
    action: `ssm:${m[1]}`,
    resource: `arn:aws:ssm:${place.region}:${place.account}:parameter/${name.replace(/^\//, '')}`,
    context: {},
  }));
}

/** The IAM requests AWS evaluates for one recorded request (throws on one this mapping does not know). */
export function iamRequestsOf(r: RecordedRequest, place: RequestPlace): IamRequest[] {
  switch (r.service) {
    case 's3': return s3Requests(r, place);
    case 'dynamodb': return dynamodbRequests(r, place);
    case 'ssm': return ssmRequests(r, place);
    default: throw new Error(`a request to a service this mapping does not know: ${JSON.stringify(r)}`);
  }
}
