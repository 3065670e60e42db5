import * as http from 'http';
import { AddressInfo } from 'net';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { aws, awsError, cloudFormationClient, DEFAULT_TIMEOUTS, deniedAction, endpointFromEnv, sdkClientFactory } from '../src/aws';
import { awsFault } from './fake-aws';

test('an endpoint that accepts the request and never answers: each attempt times out, the SDK retries, the error names the call', async () => {
  let requests = 0;
  const server = http.createServer(() => { requests++; });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const s3 = sdkClientFactory({ AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'eu-west-1' }, { connectionMs: 200, requestMs: 300 }).s3({ forcePathStyle: true });
  s3.config.credentials = async () => ({ accessKeyId: 'test', secretAccessKey: 'test' });
  try {
    const call = aws({ action: 's3:ListBucket', resource: 'arn:aws:s3:::b' }, () => s3.send(new HeadBucketCommand({ Bucket: 'b' })));
    await expect(call).rejects.toThrow(/^s3:ListBucket on arn:aws:s3:::b: no answer in time \(TimeoutError/);
    expect(requests).toBe(3);
  } finally {
    s3.destroy();
    server.closeAllConnections();
    server.close();
  }
});

test('endpointFromEnv reads the service variable first, as the SDK does', () => {
  expect(endpointFromEnv({ AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://s3' }, 'S3')).toBe('http://s3');
  expect(endpointFromEnv({ AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://s3' }, 'DYNAMODB')).toBe('http://a');
  expect(endpointFromEnv({}, 'SSM')).toBeUndefined();
  expect(endpointFromEnv({ AWS_ENDPOINT_URL: 'http://a', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }, 'S3')).toBeUndefined();
});

test('the SDK clients take their region and endpoint from the given environment', async () => {
  const factory = sdkClientFactory({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_REGION: 'eu-west-1' });
  const s3 = factory.s3({ forcePathStyle: true });
  expect(await s3.config.region()).toBe('eu-west-1');
  expect(s3.config.forcePathStyle).toBe(true);
  const ddb = factory.dynamodb({ region: 'us-east-2' });
  expect(await ddb.config.region()).toBe('us-east-2');
  const endpoint = await ddb.config.endpoint!();
  expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe('http://127.0.0.1:4566');
});

test('the tool\'s own clients: 5 s to connect, 60 s a request, the SDK\'s standard retries; a retry strategy only when given', async () => {
  expect(DEFAULT_TIMEOUTS).toEqual({ connectionMs: 5_000, requestMs: 60_000 });
  const env = { AWS_REGION: 'eu-west-1' };
  // What main() makes: sdkClientFactory(env), nothing else given.
  const s3 = sdkClientFactory(env).s3({});
  const ddb = sdkClientFactory(env).dynamodb({});
  const given = new ConfiguredRetryStrategy(3, 10);
  const tests = sdkClientFactory(env, { connectionMs: 100, requestMs: 200 }, () => given).s3({});
  // The handler's settings (NodeHttpHandler keeps them as configProvider).
  const settings = (c: typeof s3 | typeof ddb) =>
    (c.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> }).configProvider;
  try {
    for (const [client, attempts] of [[s3, 3], [ddb, 4]] as const) {
      expect(await settings(client)).toMatchObject({ connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true });
      type Standard = { constructor: { name: string }; mode: string; maxAttempts(): Promise<number> };
      const strategy = await client.config.retryStrategy() as unknown as Standard;
      expect({ strategy: strategy.constructor.name, mode: strategy.mode, attempts: await strategy.maxAttempts() })
        .toEqual({ strategy: 'StandardRetryStrategy', mode: 'standard', attempts });
    }
    expect(await tests.config.retryStrategy()).toBe(given);
    expect(await settings(tests)).toMatchObject({ connectionTimeout: 100, requestTimeout: 200 });
  } finally {
    [s3, ddb, tests].forEach((c) => c.destroy());
  }
});

test('bootstrap\'s CloudFormation client has the same timeouts, its region and the CloudFormation endpoint', async () => {
  const cfn = cloudFormationClient({ AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:4567' }, 'eu-west-1');
  try {
    const handler = cfn.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
    expect(await handler.configProvider).toMatchObject({ connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true });
    expect(await cfn.config.region()).toBe('eu-west-1');
    const endpoint = await cfn.config.endpoint!();
    expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe('http://127.0.0.1:4567');
  } finally {
    cfn.destroy();
  }
});

describe('an access-denied message that names the action missing is followed', () => {
  const kms = 'User: arn:aws:iam::123456789012:user/oncall is not authorized to perform: kms:Decrypt on resource: '
    + 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab because no identity-based policy allows the kms:Decrypt action';
  const s3 = 'User: arn:aws:iam::123456789012:user/oncall is not authorized to perform: s3:GetObject on "arn:aws:s3:::b/k.tflock" '
    + 'because no identity-based policy allows the s3:GetObject action';

  test('deniedAction reads the action and resource, in either form', () => {
    expect(deniedAction(kms)).toEqual({ action: 'kms:Decrypt', resource: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' });
    expect(deniedAction(s3)).toEqual({ action: 's3:GetObject', resource: 'arn:aws:s3:::b/k.tflock' });
    expect(deniedAction('Access Denied')).toBeUndefined();
  });

  test('a GetObject refused for kms:Decrypt asks for kms:Decrypt on the key, not s3:GetObject', () => {
    const e = awsError(awsFault('AccessDenied', 403, kms), { action: 's3:GetObject', resource: 'arn:aws:s3:::b/k' });
    expect(e.message).toBe(`s3:GetObject on arn:aws:s3:::b/k was refused (AccessDenied: ${kms}). `
      + 'Ask for kms:Decrypt on arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab, or use credentials that have it (AWS_PROFILE).');
    expect(e.details).toEqual({ action: 'kms:Decrypt', resource: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' });
  });
});
