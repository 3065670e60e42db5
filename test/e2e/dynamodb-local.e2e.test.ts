/**
 * Scenarios 3 and 4 (contention, stale lock) again, with Terraform's DynamoDB calls
 * going to AWS's own DynamoDB Local (started by jest's globalSetup) instead of moto:
 * the lock semantics proven on AWS's engine. The lock table is created from the
 * synthesized template (as test/lock-roundtrip.integ.test.ts does); S3 stays on moto.
 *
 * What this cannot prove: IAM, and anything of the stack beyond the table's key
 * schema and billing mode (nothing is deployed here; app.e2e.test.ts deploys).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BillingMode, CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { App, Token } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import { TerraformStateBackendStack } from '../../lib';
import { E2E_REGION } from '../support/cdk-cli';
import { MOTO_ACCOUNT, MotoServer, startMotoServer } from '../support/moto-server';
import { emulatorBackendConfig } from '../support/terraform';
import { describeWithTools, E2E_TOOLS } from '../support/tools';
import { Backend, Contention, contention, emulatorClients, EmulatorClients, must, ScenarioRuns, StaleLock, staleLock, tearDown } from './scenarios';

/** DynamoDB Local keeps one database per access key (letters and digits only): this one is not the integration test's. */
const ACCESS_KEY = 'e2eDynamoDbLocal';

// Tests await scenarios that beforeAll started side by side; on a loaded machine they can take a while.
jest.setTimeout(90_000);

describeWithTools(E2E_TOOLS, 'Terraform\'s DynamoDB lock on DynamoDB Local (AWS\'s engine), state on moto_server', () => {
  let moto: MotoServer;
  let aws: EmulatorClients;
  let ddb: DynamoDBClient;
  let root: string;
  let backend: Backend;
  const runs = new ScenarioRuns();
  const timings = runs.timings;
  let contended: Promise<Contention>;
  let stale: Promise<StaleLock>;

  beforeAll(async () => {
    const endpoint = process.env.DYNAMODB_LOCAL_ENDPOINT;
    if (!endpoint) throw new Error('DYNAMODB_LOCAL_ENDPOINT is not set: run through jest, whose globalSetup starts DynamoDB Local');
    const t0 = Date.now();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-ddb-local-'));
    moto = await startMotoServer();
    timings.motoStart = Date.now() - t0;
    aws = emulatorClients(moto.endpoint, ACCESS_KEY);
    ddb = new DynamoDBClient({ endpoint, region: E2E_REGION, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: 'e2e' } });

    // The default backend in moto's account and region: concrete names, so the rendered
    // config needs no CloudFormation to resolve it.
    const stack = new TerraformStateBackendStack(new App(), 'E2eDynamoDbLocal', { env: { account: MOTO_ACCOUNT, region: E2E_REGION } });
    const config = stack.backend.renderBackendConfigFile();
    if (Token.isUnresolved(config)) throw new Error(`the rendered config should be concrete here: ${config}`);
    const tables = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(1);
    const p = tables[0].Properties;
    await ddb.send(new CreateTableCommand({
      TableName: p.TableName, KeySchema: p.KeySchema, AttributeDefinitions: p.AttributeDefinitions, BillingMode: BillingMode.PAY_PER_REQUEST,
    }));
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    const bucket = stack.backend.bucketName;
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await aws.s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));

    backend = {
      label: 'ddb-local',
      bucket,
      table: p.TableName,
      lockfile: false,
      s3: aws.s3,
      ddb,
      root,
      backendConfig: config,
      emulatorConfig: emulatorBackendConfig({ s3: moto.endpoint, dynamodb: endpoint, sts: moto.endpoint }),
      accessKeyId: ACCESS_KEY,
    };
    contended = runs.begin('11-3-contention', contention(backend, 'contention/terraform.tfstate', ['key=contention/terraform.tfstate']));
    stale = runs.begin('11-4-stale-lock', staleLock(backend, 'stale/terraform.tfstate', ['key=stale/terraform.tfstate']));
  }, 120_000);

  afterAll(() => tearDown('dynamodb-local.e2e.test.ts', { runs, clients: [aws, ddb], moto, root, timings }), 60_000);

  test('11/3. contention: -lock-timeout=0s fails naming the holder; -lock-timeout=60s waits, then applies', async () => {
    const r = await contended;
    must(r.holder);
    const holder = r.held.item!;
    expect(holder.Path).toBe(`${backend.bucket}/${r.statePath}`);
    expect(r.late.code).toBe(1);
    expect(r.late.output).toContain('Error acquiring the state lock');
    expect(r.late.output).toContain('ConditionalCheckFailedException');
    expect(r.late.output).toMatch(new RegExp(`ID:\\s+${holder.ID}`));
    must(r.waiter, [r.held.item?.ID ?? r.held.file!.ID]);
    expect(r.waiter.endedAt).toBeGreaterThan(r.holder.endedAt);
    expect(r.after).toEqual({ item: undefined, file: undefined });
  });

  test('11/4. stale lock: SIGKILL leaves the lock item; force-unlock -force with the printed ID clears it', async () => {
    const r = await stale;
    expect(r.killed.signal).toBe('SIGKILL');
    expect(r.left.item?.ID).toBe(r.held.item!.ID);
    expect(r.blocked.code).toBe(1);
    expect(r.printedId).toBe(r.held.item!.ID);
    must(r.unlock);
    expect(r.unlock.output).toContain('Terraform state has been successfully unlocked!');
    expect(r.cleared.item).toBeUndefined();
    must(r.planAfter);
  });
});
