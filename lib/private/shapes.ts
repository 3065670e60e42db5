import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DataProtectionOptions, LockingMode, ReplicaEncryption, StateEncryption } from '../state-settings';

/**
 * Internal: the public props as `lib/private/` reads them, declared here
 * field for field, so that no file of `lib/private/` imports a construct's
 * file (which imports `lib/private/`): imports flow one way, from the public
 * files into `lib/private/` (`npm run lint` checks it). TypeScript compares
 * shapes, so the public props are passed as they are; each field means what
 * the public interface named beside it documents. test/shapes.test.ts proves
 * that each shape has exactly the public interface's fields.
 */

/** `StateReplication`. */
export interface ReplicationShape {
  readonly region: string;
  readonly bucketName?: string;
  readonly kmsKeyArn?: string;
}

/** `TerraformStateBackendOptions`: what a backend of a StackSet takes. */
export interface BackendOptionsShape extends DataProtectionOptions {
  readonly lockTableName?: string;
  readonly locking?: LockingMode;
  readonly encryption?: StateEncryption;
  readonly stateKey?: string;
  readonly workspaceKeyPrefix?: string;
  readonly serverAccessLogs?: boolean;
  readonly serverAccessLogsPrefix?: string;
  readonly discovery?: boolean;
  readonly discoveryPrefix?: string;
}

/** `TerraformStateBackendProps`. */
export interface BackendPropsShape extends BackendOptionsShape {
  readonly bucketName?: string;
  readonly encryptionKey?: kms.IKey;
  readonly serverAccessLogsBucket?: s3.IBucket;
  readonly replication?: ReplicationShape;
}

/** `TerraformStateBackendAttributes`. */
export interface BackendAttributesShape {
  readonly bucketName: string;
  readonly account?: string;
  readonly region?: string;
  readonly locking?: LockingMode;
  readonly lockTableName?: string;
  readonly encryption?: StateEncryption;
  readonly encryptionKey?: kms.IKey;
  readonly stateKey?: string;
  readonly workspaceKeyPrefix?: string;
  readonly discoveryPrefix?: string;
}

/** `TerraformStateBackendDiscoveryOptions`. */
export interface DiscoveryOptionsShape {
  readonly prefix?: string;
  readonly locking?: LockingMode;
  readonly encryption?: StateEncryption;
  readonly stateKey?: string;
  readonly workspaceKeyPrefix?: string;
}

/** `TerraformStateReplicaProps`. */
export interface ReplicaPropsShape extends DataProtectionOptions {
  readonly sourceBucketName?: string;
  readonly bucketName?: string;
  readonly encryption?: ReplicaEncryption;
}

/** `TerraformStateBackendStackSetProps`: the fields its validation reads. */
export interface StackSetPropsShape {
  readonly organizationalUnitIds: string[];
  readonly regions: string[];
  readonly backend?: BackendOptionsShape;
  readonly maxConcurrentPercentage?: number;
  readonly failureTolerancePercentage?: number;
}
