/**
 * The regions of every AWS partition, as the AWS SDK for JavaScript v3 (3.1162.0) knows them
 * (`@aws-sdk/core`'s partitions.js; test/regions.test.ts checks this list against it), so a
 * mistyped `--region` is refused with the closest real one before any call is made.
 */
import { closest } from './closest';
import { usageError } from './errors';

export const PARTITION_REGIONS: Readonly<Record<string, readonly string[]>> = {
  'aws': [
    'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
    'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7',
    'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2',
    'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1', 'me-west-1', 'mx-central-1', 'sa-east-1', 'sa-west-1', 'us-east-1',
    'us-east-2', 'us-west-1', 'us-west-2',
  ],
  'aws-cn': ['cn-north-1', 'cn-northwest-1'],
  'aws-eusc': ['eusc-de-east-1'],
  'aws-iso': ['us-iso-east-1', 'us-iso-west-1'],
  'aws-iso-b': ['us-isob-east-1', 'us-isob-west-1'],
  'aws-iso-e': ['eu-isoe-west-1'],
  'aws-iso-f': ['us-isof-east-1', 'us-isof-south-1'],
  'aws-us-gov': ['us-gov-east-1', 'us-gov-west-1'],
};

const ALL = Object.values(PARTITION_REGIONS).flat();

/** The partition of a known region (`aws`, `aws-cn`, ...), or undefined. */
export function partitionOf(region: string): string | undefined {
  return Object.keys(PARTITION_REGIONS).find((p) => PARTITION_REGIONS[p].includes(region));
}

/** Refuses a region no partition has, naming where it came from and the closest real one. */
export function checkRegion(region: string, from: string): void {
  if (partitionOf(region) !== undefined) {
    return;
  }
  const match = closest(region, ALL);
  throw usageError(`${from} ${JSON.stringify(region)} is not an AWS region${match ? `; did you mean ${match}?` : ''} `
    + `(the regions of the AWS SDK 3.1162.0's partitions; in aws: ${PARTITION_REGIONS.aws.join(', ')}; `
    + `others: ${Object.keys(PARTITION_REGIONS).filter((p) => p !== 'aws').map((p) => `${p}: ${PARTITION_REGIONS[p].join(', ')}`).join('; ')})`);
}
