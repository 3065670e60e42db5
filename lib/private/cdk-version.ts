/**
 * The oldest aws-cdk-lib this library is correct with; the floor of its
 * `aws-cdk-lib` peer dependency (a test keeps the two equal).
 *
 * Before 2.276.0, `iam.Grant.addToPrincipalOrResource` leaves `conditions` out
 * of the statement it adds to a resource policy. A cross-account state grant
 * then lands in the bucket and table policies without its `s3:prefix` and
 * `dynamodb:LeadingKeys` conditions: wider than asked, and with no error.
 */
export const AWS_CDK_LIB_FLOOR = '2.276.0';

/**
 * The reason for the floor, as one sentence of an error message says it.
 */
const FLOOR_REASON = 'before 2.276.0, iam.Grant.addToPrincipalOrResource drops the conditions of resource-policy statements, '
  + 'so cross-account state grants would lose their s3:prefix and dynamodb:LeadingKeys conditions without an error';

/**
 * Why `installed` cannot be used, or undefined when it can.
 *
 * A version that cannot be read (undefined) or parsed is not judged, and
 * neither is `0.0.0`, which local builds of the aws-cdk repository carry.
 *
 * @param installed the version of the aws-cdk-lib this library runs with
 */
export function awsCdkLibVersionFault(installed: string | undefined): string | undefined {
  const have = installed === undefined ? undefined : parseVersion(installed);
  if (have === undefined || have.release.every((n) => n === 0)) {
    return undefined;
  }
  const floor = parseVersion(AWS_CDK_LIB_FLOOR)!.release;
  const i = have.release.findIndex((n, j) => n !== floor[j]);
  // Semantic versioning: a prerelease of the floor (2.276.0-rc.1) comes before it.
  const atLeastFloor = i < 0 ? !have.prerelease : have.release[i] > floor[i];
  if (atLeastFloor) {
    return undefined;
  }
  return `cdk-terraform-state-backend needs aws-cdk-lib ${AWS_CDK_LIB_FLOOR} or later, but aws-cdk-lib ${installed} is installed: `
    + `${FLOOR_REASON}; upgrade it with \`npm install aws-cdk-lib@^${AWS_CDK_LIB_FLOOR}\` (or your language's package manager).`;
}

/** The `[major, minor, patch]` of a semantic version, and whether it is a prerelease (build metadata is ignored). */
function parseVersion(version: string): { release: [number, number, number]; prerelease: boolean } | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(version.trim());
  return match ? { release: [Number(match[1]), Number(match[2]), Number(match[3])], prerelease: match[4] !== undefined } : undefined;
}

/**
 * The version of the aws-cdk-lib that this library's own `import 'aws-cdk-lib'`
 * loads (the same resolution finds the same copy, also when a jsii language
 * binding loads the packages), or undefined when it cannot be read. Every 2.x
 * release allows `aws-cdk-lib/package.json`: 2.0.0 has no `exports` map, later
 * ones export the subpath.
 */
export function installedAwsCdkLibVersion(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a JSON file, read as node resolves it
    const version: unknown = require('aws-cdk-lib/package.json').version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Throws when the aws-cdk-lib in use is older than {@link AWS_CDK_LIB_FLOOR}.
 * Every construct of this library that makes resources calls it first.
 */
export function assertAwsCdkLibVersion(): void {
  const fault = awsCdkLibVersionFault(installedAwsCdkLibVersion());
  if (fault) {
    throw new Error(fault);
  }
}
