import { CfnOutput } from 'aws-cdk-lib/core';
import { Construct } from 'constructs';

/**
 * Internal: the stack outputs of a backend: the ready block, the partial
 * configuration file, and the names.
 */
export function addBackendOutputs(
  scope: Construct, backendBlock: string, backendConfigFile: string, bucketName: string, lockTableName?: string,
): void {
  new CfnOutput(scope, 'BackendBlock', {
    description: 'The terraform { backend "s3" { ... } } block for this state backend',
    value: backendBlock,
  });
  new CfnOutput(scope, 'BackendConfigFile', {
    description: 'Partial backend configuration for terraform init -backend-config=backend.hcl',
    value: backendConfigFile,
  });
  new CfnOutput(scope, 'StateBucketName', {
    description: 'The S3 bucket that holds Terraform state',
    value: bucketName,
  });
  if (lockTableName !== undefined) {
    new CfnOutput(scope, 'LockTableName', {
      description: 'The DynamoDB table that holds Terraform state locks',
      value: lockTableName,
    });
  }
}
