/** The versions of one state object (exactly that key), read and summarized. */
import { ListObjectVersionsCommand, ListObjectVersionsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { aws, s3Arn } from './aws';
import { mapLimit } from './locks';
import { getObject, StateSummary, summarizeState } from './state';

export interface StateVersion {
  readonly versionId: string;
  readonly lastModified?: Date;
  readonly isLatest: boolean;
  readonly deleteMarker: boolean;
  readonly size?: number;
  readonly etag?: string;
}

export interface ReadVersion extends StateVersion {
  readonly md5?: string;
  readonly state?: StateSummary;
}

/**
 * ListObjectVersions of `key`, newest first: versions and delete markers of exactly that
 * key (the listing is by prefix: `a.tfstate` also lists `a.tfstate.backup`). Stops after
 * `limit` (0: all). `others` collects up to 10 other keys seen under the prefix.
 */
export async function listVersions(
  s3: S3Client, bucket: string, key: string, limit: number,
): Promise<{ versions: StateVersion[]; more: boolean; others: string[] }> {
  const versions: StateVersion[] = [];
  const others = new Set<string>();
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  let more = false;
  for (;;) {
    const page: ListObjectVersionsCommandOutput = await aws({ action: 's3:ListBucketVersions', resource: s3Arn(bucket) },
      () => s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionMarker })));
    const entries: StateVersion[] = [
      ...(page.Versions ?? []).map((v) => ({ key: v.Key, versionId: v.VersionId ?? 'null', lastModified: v.LastModified, isLatest: !!v.IsLatest, deleteMarker: false, size: v.Size, etag: v.ETag })),
      ...(page.DeleteMarkers ?? []).map((d) => ({ key: d.Key, versionId: d.VersionId ?? 'null', lastModified: d.LastModified, isLatest: !!d.IsLatest, deleteMarker: true })),
    ].filter((v) => {
      if (v.key !== key) {
        if (others.size < 10) others.add(v.key!);
        return false;
      }
      return true;
    }).map(({ key: _k, ...v }) => v);
    versions.push(...entries);
    if (!page.IsTruncated) {
      break;
    }
    // Keys are listed in order: once past `key`, the rest are other keys.
    if (page.NextKeyMarker !== undefined && page.NextKeyMarker > key) {
      break;
    }
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
  // One page lists a key's versions and delete markers apart: newest first across both.
  versions.sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0) || Number(b.isLatest) - Number(a.isLatest));
  if (limit > 0 && versions.length > limit) {
    more = true;
    versions.length = limit;
  }
  return { versions, more, others: [...others] };
}

/** Reads each version (not delete markers) and summarizes its state JSON. */
export function readVersions(s3: S3Client, bucket: string, key: string, versions: readonly StateVersion[]): Promise<ReadVersion[]> {
  return mapLimit(versions, 8, async (v) => {
    if (v.deleteMarker) {
      return v;
    }
    const obj = await getObject(s3, bucket, key, v.versionId === 'null' ? undefined : v.versionId);
    return obj ? { ...v, md5: obj.md5, state: summarizeState(obj.body) } : v;
  });
}
