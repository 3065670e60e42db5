import { RemovalPolicy } from 'aws-cdk-lib/core';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledgeNagRules } from './nag';

/**
 * Internal: the DynamoDB lock table Terraform's `dynamodb_table` expects:
 * partition key `LockID` (S), nothing else.
 */
export function makeLockTable(scope: Construct, tableName: string, key: kms.IKey | undefined, removalPolicy: RemovalPolicy): dynamodb.Table {
  const table = new dynamodb.Table(scope, 'LockTable', {
    tableName,
    partitionKey: { name: 'LockID', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
    // Without a customer key, DynamoDB's AWS owned key (no KMS calls, no cost),
    // not the AWS managed key aws/dynamodb: DynamoDB refuses resource-policy
    // access from other accounts to a table on aws/dynamodb.
    ...(key
      ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: key }
      : { encryption: dynamodb.TableEncryption.DEFAULT }),
    removalPolicy,
  });
  acknowledgeNagRules(table, ['HIPAA.Security', 'NIST.800.53.R5'].map((pack) => ({
    id: `${pack}-DynamoDBInBackupPlan`,
    reason: 'The lock table holds only transient lock items and state digests that Terraform rewrites on every state write; ' +
      'point-in-time recovery and deletion protection are on, and a backup would restore stale locks.',
  })));
  return table;
}
