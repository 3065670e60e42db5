/**
 * jest globalSetup: starts DynamoDB Local once for the whole run and hands its
 * endpoint to the test workers through DYNAMODB_LOCAL_ENDPOINT.
 *
 * - If DYNAMODB_LOCAL_ENDPOINT is already set, that endpoint is used and nothing is started.
 * - If the run is narrowed to test paths that select no `*.integ.test.ts`, nothing is started.
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { GlobalConfig } from 'jest';
import { startDynamoDbLocal } from './dynamodb-local';

/** Where globalTeardown (same process) finds what globalSetup started. */
export const DYNAMODB_LOCAL_GLOBAL = Symbol.for('cdk-terraform-state-backend.dynamodb-local');

export interface StartedDynamoDbLocal {
  stop(): Promise<void>;
  process: ChildProcess;
}

/** False only when test path patterns are given and none of them selects an integration test file. */
function integrationTestsSelected(globalConfig?: GlobalConfig): boolean {
  const patterns = globalConfig?.testPathPatterns;
  if (!patterns || typeof patterns.isSet !== 'function' || !patterns.isSet()) {
    return true;
  }
  const testDir = path.resolve(__dirname, '..');
  const integ = (fs.readdirSync(testDir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.integ.test.ts'))
    .map((f) => path.join(testDir, f));
  try {
    const executor = patterns.toExecutor({ rootDir: globalConfig!.rootDir });
    return integ.some((f) => executor.isMatch(f));
  } catch {
    return true;
  }
}

export default async function globalSetup(globalConfig?: GlobalConfig): Promise<void> {
  if (process.env.DYNAMODB_LOCAL_ENDPOINT || !integrationTestsSelected(globalConfig)) {
    return;
  }
  // startDynamoDbLocal also ties the java process to this one: it dies when jest exits or is
  // signalled, even if globalTeardown never runs.
  const ddb = await startDynamoDbLocal();
  (globalThis as Record<symbol, unknown>)[DYNAMODB_LOCAL_GLOBAL] = {
    process: ddb.process,
    stop: () => ddb.stop(),
  } satisfies StartedDynamoDbLocal;
  process.env.DYNAMODB_LOCAL_ENDPOINT = ddb.endpoint;
}
