import { endpointFromEnv, sdkClientFactory } from '../src/aws';

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
