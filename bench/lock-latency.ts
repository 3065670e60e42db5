/**
 * Benchmark (not a test): Terraform's lock acquire and release latency on the
 * synthesized lock table, against DynamoDB Local started the way the tests start
 * it. Run with `npm run bench`; it prints one JSON line.
 *
 * Measured: DynamoDB Local's start, then ROUNDS lock/unlock pairs by one client
 * after WARMUP pairs; acquire = one conditional PutItem, release = Terraform's
 * GetItem + DeleteItem.
 */
import { performance } from 'perf_hooks';
import { CreateTableCommand, CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import { TerraformStateBackendStack } from '../lib';
import { startDynamoDbLocal } from '../test/support/dynamodb-local';
import { localClient, newLockInfo, TerraformLockClient } from '../test/support/terraform-lock-client';

const WARMUP = 50;
const ROUNDS = Number(process.env.ROUNDS ?? 500);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function main(): Promise<void> {
  // The SDK's notice about Node 20 would interleave with the result line.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const startedAt = performance.now();
  const ddb = await startDynamoDbLocal();
  const startMs = performance.now() - startedAt;
  try {
    const stack = new TerraformStateBackendStack(new App(), 'Bench', { backend: { bucketName: 'terraform-state-123456789012-eu-west-1' } });
    const [table] = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'));
    const client = localClient(ddb.endpoint);
    const p = table.Properties as CreateTableCommandInput;
    await client.send(new CreateTableCommand({
      TableName: p.TableName, KeySchema: p.KeySchema, AttributeDefinitions: p.AttributeDefinitions, BillingMode: p.BillingMode,
    }));
    const lock = new TerraformLockClient({ client, table: p.TableName!, bucket: 'terraform-state-123456789012-eu-west-1' });
    const acquire: number[] = [];
    const release: number[] = [];
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const t0 = performance.now();
      const id = await lock.lock(newLockInfo());
      const t1 = performance.now();
      await lock.unlock(id);
      const t2 = performance.now();
      if (i >= WARMUP) {
        acquire.push(t1 - t0);
        release.push(t2 - t1);
      }
    }
    acquire.sort((a, b) => a - b);
    release.sort((a, b) => a - b);
    const round = (n: number) => Math.round(n * 100) / 100;
    console.log(JSON.stringify({
      dynamodbLocalStartMs: Math.round(startMs),
      rounds: ROUNDS,
      acquireMs: { median: round(percentile(acquire, 0.5)), p95: round(percentile(acquire, 0.95)) },
      releaseMs: { median: round(percentile(release, 0.5)), p95: round(percentile(release, 0.95)) },
    }));
    client.destroy();
  } finally {
    await ddb.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
