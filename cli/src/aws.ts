/**
 * AWS clients and errors: clients follow the SDK's own chain for credentials
 * (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO, instance roles ...), region and endpoint;
 * every call is wrapped so a failure names the action and resource refused.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { CliError, ExitCode } from './errors';

/** Makes the clients; injectable so tests can use emulated or recorded clients. */
export interface ClientFactory {
  s3(options: ClientOptions): S3Client;
  dynamodb(options: ClientOptions): DynamoDBClient;
  ssm(options: ClientOptions): SSMClient;
  sts(options: ClientOptions): STSClient;
  organizations(options: ClientOptions): OrganizationsClient;
}

/** Temporary credentials (an assumed role's). */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

export interface ClientOptions {
  /** Undefined: the SDK's region chain (AWS_REGION, the profile's region). */
  readonly region?: string;
  /** S3 only: path-style URLs (`https://host/bucket/key`), for emulators. */
  readonly forcePathStyle?: boolean;
  /** Undefined: the SDK's credential chain. */
  readonly credentials?: Credentials;
}

export type Service = 'S3' | 'DYNAMODB' | 'SSM' | 'STS' | 'ORGANIZATIONS' | 'CLOUDFORMATION';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The endpoint for a service from the environment, as the SDK itself reads it
 * (AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL), read from `env` so a
 * caller of main() can point one run at an emulator without touching process.env.
 */
export function endpointFromEnv(env: Env, service: Service): string | undefined {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')) {
    return undefined;
  }
  return env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * How long one attempt of a request may take, so that an endpoint that accepts the
 * connection and never answers does not hang the tool (the SDK's default is no limit).
 * A timed-out attempt is retried by the SDK like any transient error (its standard retry
 * mode: 3 attempts in all, DynamoDB 4), so a call gives up after at most about three
 * (DynamoDB four) times REQUEST_TIMEOUT_MS, with an error naming the action and resource.
 */
export interface Timeouts {
  /** Connecting (TCP and TLS). */
  readonly connectionMs: number;
  /** The whole request and response, body included (a state of tens of MB fits in it). */
  readonly requestMs: number;
}

/** Connecting to an AWS endpoint takes well under a second; five means it is unreachable. */
export const CONNECTION_TIMEOUT_MS = 5_000;
/** One request, answer included: the largest state a backend holds downloads well within it. */
export const REQUEST_TIMEOUT_MS = 60_000;

export const DEFAULT_TIMEOUTS: Timeouts = { connectionMs: CONNECTION_TIMEOUT_MS, requestMs: REQUEST_TIMEOUT_MS };

/** The HTTP handler settings that bound each attempt by `timeouts` (every client of the tool takes them). */
function requestHandler(timeouts: Timeouts) {
  return { connectionTimeout: timeouts.connectionMs, requestTimeout: timeouts.requestMs, throwOnRequestTimeout: true };
}

/**
 * How the SDK retries: a retry strategy as the SDK's clients take it (`retryStrategy`).
 * The tool itself passes none, so its clients use the SDK's default, the standard retry
 * mode: 3 attempts (DynamoDB: 4), waiting between them with exponential backoff and jitter
 * (longer after throttling). Tests that inject faults pass one with the same attempts and
 * a short wait (the SDK's `ConfiguredRetryStrategy`), so as not to spend their time in backoff.
 */
export type RetryStrategy = NonNullable<S3ClientConfig['retryStrategy']>;

/**
 * The SDK's clients, each attempt bounded by `timeouts`, retried by `retryStrategy(service)`
 * when given; the tool uses the defaults (DEFAULT_TIMEOUTS, the SDK's standard retries),
 * tests pass their own.
 */
export function sdkClientFactory(
  env: Env, timeouts: Timeouts = DEFAULT_TIMEOUTS, retryStrategy?: (service: Service) => RetryStrategy,
): ClientFactory {
  const common = (options: ClientOptions, service: Service) => ({
    region: options.region ?? (env.AWS_REGION || undefined),
    endpoint: endpointFromEnv(env, service),
    requestHandler: requestHandler(timeouts),
    ...(retryStrategy ? { retryStrategy: retryStrategy(service) } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  return {
    s3: (options) => new S3Client({ ...common(options, 'S3'), forcePathStyle: options.forcePathStyle }),
    dynamodb: (options) => new DynamoDBClient(common(options, 'DYNAMODB')),
    ssm: (options) => new SSMClient(common(options, 'SSM')),
    sts: (options) => new STSClient(common(options, 'STS')),
    // Organizations has one endpoint, in us-east-1 (aws partition).
    organizations: (options) => new OrganizationsClient({ ...common(options, 'ORGANIZATIONS'), region: options.region ?? 'us-east-1' }),
  };
}

/**
 * bootstrap's CloudFormation client, for `region` (undefined: the SDK's chain), bounded by
 * the same timeouts as every other client, so an endpoint that never answers does not hang it.
 */
export function cloudFormationClient(env: Env, region: string | undefined, timeouts: Timeouts = DEFAULT_TIMEOUTS): CloudFormationClient {
  return new CloudFormationClient({
    region,
    endpoint: endpointFromEnv(env, 'CLOUDFORMATION'),
    requestHandler: requestHandler(timeouts),
  });
}

/** The same factory, every client made with `credentials`. */
export function withCredentials(clients: ClientFactory, credentials: Credentials): ClientFactory {
  return {
    s3: (o) => clients.s3({ ...o, credentials }),
    dynamodb: (o) => clients.dynamodb({ ...o, credentials }),
    ssm: (o) => clients.ssm({ ...o, credentials }),
    sts: (o) => clients.sts({ ...o, credentials }),
    organizations: (o) => clients.organizations({ ...o, credentials }),
  };
}

/** One AWS call, as the user would grant it: `s3:GetObject` on `arn:aws:s3:::bucket/key`. */
export interface Call {
  /** The IAM action, e.g. `s3:GetObject`. */
  readonly action: string;
  /** The resource as a policy names it (an ARN), or a description where the ARN needs the account. */
  readonly resource: string;
  /** What to say when the resource does not exist. */
  readonly notFound?: string;
}

interface AwsErrorShape {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  hostname?: string;
}

function shape(e: unknown): AwsErrorShape {
  return (typeof e === 'object' && e !== null ? e : { message: String(e) }) as AwsErrorShape;
}

/** The HTTP status of an AWS error, when it has one. */
export function httpStatus(e: unknown): number | undefined {
  return shape(e).$metadata?.httpStatusCode;
}

/** A conditional write or delete that found its condition false (DynamoDB, or S3's 412). */
export function isConditionFailed(e: unknown): boolean {
  const s = shape(e);
  return s.name === 'ConditionalCheckFailedException' || s.name === 'PreconditionFailed' || s.$metadata?.httpStatusCode === 412;
}

/** The object (or version) does not exist. */
export function isNoSuchKey(e: unknown): boolean {
  const s = shape(e);
  return s.name === 'NoSuchKey' || s.name === 'NotFound' || s.name === 'NoSuchVersion';
}

/** AWS's refusal of a request as unauthorized (or unauthenticated): a 403 or an access-denied error name. */
export function isAccessDenied(e: unknown): boolean {
  const s = shape(e);
  const name = s.name && s.name !== 'Error' ? s.name : s.Code ?? s.code ?? '';
  return ACCESS_DENIED.has(name) || (s.$metadata?.httpStatusCode === 403 && !name.startsWith('Precondition'));
}

/**
 * The action and resource an access-denied message names, when it names them: AWS's
 * messages read "User: <arn> is not authorized to perform: <action> on resource: <arn>
 * because ..." (S3 writes `on "<arn>"`). It may be another action than the call's (a
 * GetObject of an SSE-KMS object refused for kms:Decrypt).
 */
export function deniedAction(message: string): { action: string; resource: string } | undefined {
  const m = /not authorized to perform: ([\w-]+:[\w*-]+) on (?:resource: )?"?([^"\s]+?)"?(?=\s|$)/.exec(message);
  return m ? { action: m[1], resource: m[2] } : undefined;
}

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'Forbidden', 'UnauthorizedOperation', 'UnrecognizedClientException',
  'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId']);

/** The error an AWS failure becomes: what was refused or missing, and what to do. */
export function awsError(e: unknown, call: Call): CliError {
  if (e instanceof CliError) {
    return e;
  }
  const s = shape(e);
  const name = s.name && s.name !== 'Error' ? s.name : s.Code ?? s.code ?? 'Error';
  const message = (s.message ?? '').trim();
  const said = message && message !== name && message !== 'UnknownError' ? `: ${message}` : '';
  const status = s.$metadata?.httpStatusCode;

  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new CliError('no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), '
      + `or run where a role is available (${message})`, ExitCode.FAILURE);
  }
  if (/Region is missing/i.test(message)) {
    return new CliError('no region: pass --region, use a backend configuration that names one, or set AWS_REGION', ExitCode.USAGE);
  }
  if (isAccessDenied(e)) {
    // A 403 whose body the SDK could not read (an emulator's, a proxy's) is named by its status alone.
    const why = ACCESS_DENIED.has(name) ? `${name}${said}` : 'HTTP 403';
    // Ask for what AWS says was missing, when it says so, rather than for the call's own action.
    const missing = deniedAction(message) ?? { action: call.action, resource: call.resource };
    const ask = missing.action === call.action ? `Ask for ${call.action} on that resource` : `Ask for ${missing.action} on ${missing.resource}`;
    return new CliError(`${call.action} on ${call.resource} was refused (${why}). ${ask}, or use credentials that have it (AWS_PROFILE).`,
      ExitCode.FAILURE, missing.action === call.action ? { action: call.action, resource: call.resource } : missing);
  }
  if (name === 'NoSuchBucket') {
    return new CliError(`bucket not found: ${call.resource} (${name}). Check --bucket and --region (or the backend configuration).`, ExitCode.NOT_FOUND);
  }
  if (name === 'ResourceNotFoundException') {
    return new CliError(call.notFound ?? `${call.resource} not found (${name}${said}). Check --table and --region (or the backend configuration).`, ExitCode.NOT_FOUND);
  }
  if (isNoSuchKey(e) || name === 'ParameterNotFound' || status === 404) {
    return new CliError(call.notFound ?? `${call.resource} not found (${name})`, ExitCode.NOT_FOUND);
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
    return new CliError(`${call.action} on ${call.resource}: the bucket is in another region (${name}${said}). Pass --region with the bucket's region.`,
      ExitCode.FAILURE);
  }
  if (name === 'TimeoutError' || (/timed? ?out/i.test(message) && !status)) {
    return new CliError(`${call.action} on ${call.resource}: no answer in time (${name}${said}; each attempt may take `
      + `${REQUEST_TIMEOUT_MS / 1000}s, connecting ${CONNECTION_TIMEOUT_MS / 1000}s, and the SDK tried 3 times). Check the network and AWS_ENDPOINT_URL.`,
    ExitCode.FAILURE);
  }
  const network = s.code ?? '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(network)) {
    const hint = network === 'ENOTFOUND' && /^[^.]+\.(localhost|\d+\.\d+\.\d+\.\d+)/.test(s.hostname ?? '')
      ? ' For an emulator, add --path-style (or set AWS_S3_FORCE_PATH_STYLE=true).' : '';
    return new CliError(`${call.action} on ${call.resource}: cannot reach the endpoint (${network}${said}). `
      + `Check the network, AWS_ENDPOINT_URL and --region.${hint}`, ExitCode.FAILURE);
  }
  return new CliError(`${call.action} on ${call.resource} failed (${name}${said})`, ExitCode.FAILURE);
}

/** Runs one AWS call; a failure becomes a CliError naming the call. */
export async function aws<T>(call: Call, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw awsError(e, call);
  }
}

/** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
export function s3Arn(bucket: string, key?: string): string {
  return key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
}

/** A table as an error names it (its ARN needs the account, which the tool does not look up). */
export function tableResource(table: string, region: string | undefined): string {
  return `DynamoDB table ${table}${region ? ` (${region})` : ''}`;
}
