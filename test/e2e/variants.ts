/**
 * The backend stacks that locking-encryption.e2e.test.ts deploys: one per locking mode
 * beyond the default, each with another encryption, and the migration's stack. A CDK
 * app when run directly (`cdk synth --app "ts-node variants.ts"`), and a module the test
 * builds the same stacks from, in its own process: it synthesizes them there with the
 * context the CLI would give the app (cliAppContext in test/support/cdk-cli.ts; the same
 * templates, byte for byte), has the CLI deploy that assembly, and compares their
 * rendered config with what the deployed stacks publish.
 *
 * Context `migrationLocking` sets the migration stack's locking mode (default DYNAMODB).
 */
import { App } from 'aws-cdk-lib/core';
import { LockingMode, StateEncryption, TerraformStateBackendStack, TerraformStateBackendStackProps } from '../../lib';

/** S3_LOCKFILE with a customer-managed key. */
export const LOCKFILE_KMS = 'E2eLockfileKms';
/** DYNAMODB_AND_S3_LOCKFILE with the aws/s3 key. */
export const BOTH_KMS_MANAGED = 'E2eBothKmsManaged';
/** The migration's stack: DYNAMODB, then DYNAMODB_AND_S3_LOCKFILE, then S3_LOCKFILE, on one bucket. */
export const MIGRATION = 'E2eMigration';

/** The migration stack's props at a step (only the locking changes; S3_LOCKFILE has no table to name). */
export function migrationProps(locking: LockingMode): TerraformStateBackendStackProps {
  return {
    backend: {
      locking,
      encryption: StateEncryption.S3_MANAGED,
      bucketName: 'e2e-migration',
      lockTableName: locking === LockingMode.S3_LOCKFILE ? undefined : 'e2e-migration-lock',
      discoveryPrefix: '/e2e/migration/',
    },
  };
}

/** Adds the three stacks to `app`. */
export function addVariants(app: App, migrationLocking: LockingMode = LockingMode.DYNAMODB): Record<string, TerraformStateBackendStack> {
  return {
    [LOCKFILE_KMS]: new TerraformStateBackendStack(app, LOCKFILE_KMS, {
      backend: {
        locking: LockingMode.S3_LOCKFILE,
        encryption: StateEncryption.KMS,
        bucketName: 'e2e-lockfile-kms',
        discoveryPrefix: '/e2e/lockfile-kms/',
      },
    }),
    [BOTH_KMS_MANAGED]: new TerraformStateBackendStack(app, BOTH_KMS_MANAGED, {
      backend: {
        locking: LockingMode.DYNAMODB_AND_S3_LOCKFILE,
        encryption: StateEncryption.KMS_MANAGED,
        bucketName: 'e2e-both-kms-managed',
        lockTableName: 'e2e-both-lock',
        discoveryPrefix: '/e2e/both-kms-managed/',
      },
    }),
    [MIGRATION]: new TerraformStateBackendStack(app, MIGRATION, migrationProps(migrationLocking)),
  };
}

if (require.main === module) {
  const app = new App();
  const locking = app.node.tryGetContext('migrationLocking') as LockingMode | undefined;
  addVariants(app, locking ?? LockingMode.DYNAMODB);
  app.synth();
}
