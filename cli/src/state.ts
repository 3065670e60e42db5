/** State objects: reading them from S3, their MD5, their JSON, and a restored copy's serial. */
import { createHash } from 'crypto';
import { GetObjectCommand, ListObjectsV2Command, S3Client, ServerSideEncryption } from '@aws-sdk/client-s3';
import { aws, awsError, httpStatus, isAccessDenied, isNoSuchKey, s3Arn } from './aws';
import { Backend } from './backend';
import { CliError, ExitCode } from './errors';

/** One version of an object as read from S3. */
export interface StoredObject {
  readonly key: string;
  readonly body: Buffer;
  readonly md5: string;
  readonly etag?: string;
  readonly versionId?: string;
  readonly lastModified?: Date;
}

/** Hex MD5 of the bytes, as Terraform's digest item holds it. */
export function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/**
 * GetObject (the current version, or `versionId`); undefined when there is no such
 * object (or the current version is a delete marker).
 *
 * "Absent" is told apart from "denied": S3 answers a GetObject of a key that does not
 * exist with 403 instead of 404 to a caller without s3:ListBucket on the bucket. On a
 * 403 the key is looked for in a listing of exactly that prefix: not listed, it is
 * absent (a ListBucket granted only under an `s3:prefix` condition lists it, but does
 * not count for the GET); listed, the GET itself is denied; the listing denied too, the
 * caller lacks s3:ListBucket, and the message says so (not s3:GetObject, which it may
 * well have).
 */
export async function getObject(s3: S3Client, bucket: string, key: string, versionId?: string): Promise<StoredObject | undefined> {
  const call = { action: versionId ? 's3:GetObjectVersion' : 's3:GetObject', resource: s3Arn(bucket, key) };
  let out;
  try {
    out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  } catch (e) {
    // A malformed version ID is S3's 400 InvalidArgument "Invalid version id specified".
    if (isNoSuchKey(e) || (versionId && /invalid version id/i.test((e as Error).message ?? ''))) {
      return undefined;
    }
    if (versionId && isDeleteMarkerVersion(e)) {
      throw new CliError(`version ${versionId} of s3://${bucket}/${key} is a delete marker, not an object`, ExitCode.REFUSED);
    }
    if (!versionId && isAccessDenied(e)) {
      const listed = await isListed(s3, bucket, key);
      if (listed === false) {
        return undefined;
      }
      if (listed === 'denied') {
        throw new CliError(`S3 answered 403 (${(e as Error).name || 'Forbidden'}) to s3:GetObject on ${call.resource} and refused s3:ListBucket on ${s3Arn(bucket)}: `
          + 'without s3:ListBucket, S3 answers 403 instead of 404 for an object that does not exist, so whether '
          + `s3://${bucket}/${key} exists cannot be told. Ask for s3:ListBucket on ${s3Arn(bucket)} (this command needs it; its --help lists `
          + 'what it needs), or use credentials that have it (AWS_PROFILE).', ExitCode.FAILURE, { action: 's3:ListBucket', resource: s3Arn(bucket) });
      }
    }
    throw awsError(e, call);
  }
  const body = Buffer.from(await aws(call, () => out.Body!.transformToByteArray()));
  return { key, body, md5: md5Hex(body), etag: out.ETag, versionId: out.VersionId, lastModified: out.LastModified };
}

/** Whether `key` is in the bucket, by a listing of that prefix ('denied': the listing was refused). */
async function isListed(s3: S3Client, bucket: string, key: string): Promise<boolean | 'denied'> {
  try {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
    // Keys are listed in order, and `key` comes before every other key it is a prefix of.
    return page.Contents?.[0]?.Key === key;
  } catch (e) {
    if (isAccessDenied(e)) {
      return 'denied';
    }
    throw awsError(e, { action: 's3:ListBucket', resource: s3Arn(bucket) });
  }
}

/** True for the error S3 answers to a GetObject of a delete marker's version ID (405). */
export function isDeleteMarkerVersion(e: unknown): boolean {
  return httpStatus(e) === 405 || (e as { name?: string })?.name === 'MethodNotAllowed';
}

/** The encryption headers Terraform sends on every write (client.go PutObject). */
export function encryptionParams(backend: Backend): { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string } {
  if (!backend.encrypt) {
    return {};
  }
  return backend.kmsKeyId
    ? { ServerSideEncryption: ServerSideEncryption.aws_kms, SSEKMSKeyId: backend.kmsKeyId }
    : { ServerSideEncryption: ServerSideEncryption.AES256 };
}

/** What a state file says about itself. */
export interface StateSummary {
  readonly serial?: number;
  readonly lineage?: string;
  readonly terraformVersion?: string;
  readonly version?: number;
  /** Why the bytes are not a Terraform state, when they are not. */
  readonly problem?: string;
}

/** The serial, lineage and Terraform version of a state file. */
export function summarizeState(body: Uint8Array): StateSummary {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (e) {
    return { problem: `not JSON (${(e as Error).message})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { problem: 'not a JSON object' };
  }
  const s = parsed as Record<string, unknown>;
  const summary = {
    serial: typeof s.serial === 'number' ? s.serial : undefined,
    lineage: typeof s.lineage === 'string' ? s.lineage : undefined,
    terraformVersion: typeof s.terraform_version === 'string' ? s.terraform_version : undefined,
    version: typeof s.version === 'number' ? s.version : undefined,
  };
  const missing = (['version', 'serial', 'lineage'] as const).filter((f) => summary[f] === undefined);
  return missing.length > 0 ? { ...summary, problem: `no ${missing.join(', ')}: not a Terraform state` } : summary;
}

/**
 * The state with another top-level `serial`, changing nothing else: Terraform writes
 * state with json.MarshalIndent (two-space indent), so the top-level serial is the line
 * `  "serial": N,`; that line alone is rewritten, keeping every other byte. Other
 * layouts are re-serialized (two-space indent, trailing newline).
 */
export function withSerial(body: Uint8Array, serial: number): Buffer {
  const text = Buffer.from(body).toString('utf8');
  const original = JSON.parse(text) as Record<string, unknown>;
  if (original.serial === serial) {
    return Buffer.from(text, 'utf8');
  }
  const rewritten = text.replace(/^( {2}"serial": )\d+(,?\r?)$/m, (_m, head: string, tail: string) => `${head}${serial}${tail}`);
  const check = JSON.parse(rewritten) as Record<string, unknown>;
  if (rewritten !== text && check.serial === serial && JSON.stringify({ ...check, serial: original.serial }) === JSON.stringify(original)) {
    return Buffer.from(rewritten, 'utf8');
  }
  return Buffer.from(JSON.stringify({ ...original, serial }, null, 2) + '\n', 'utf8');
}
