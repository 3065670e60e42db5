/**
 * jest globalSetup:
 *
 * - checks the machine-image tools (Terraform, moto_server, cfn-lint, Java) that the
 *   selected test files need (see tools.ts: locally a missing tool skips its files with
 *   one line, with CI=true it fails the run);
 * - starts DynamoDB Local once for the whole run and hands its endpoint to the test
 *   workers through DYNAMODB_LOCAL_ENDPOINT. If DYNAMODB_LOCAL_ENDPOINT is already set,
 *   that endpoint is used; if no selected file needs it (`*.integ.test.ts`,
 *   `test/e2e/dynamodb-local.e2e.test.ts`), nothing is started.
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { GlobalConfig } from 'jest';
import { startDynamoDbLocal } from './dynamodb-local';
import { checkToolsFor, E2E_TOOLS, missingTools } from './tools';

/** Where globalTeardown (same process) finds what globalSetup started. */
export const DYNAMODB_LOCAL_GLOBAL = Symbol.for('cdk-terraform-state-backend.dynamodb-local');

export interface StartedDynamoDbLocal {
  stop(): Promise<void>;
  process: ChildProcess;
}

/** The test files that need DynamoDB Local. */
export function needsDynamoDbLocal(file: string): boolean {
  return file.endsWith('.integ.test.ts') || /[\\/]e2e[\\/]dynamodb-local\.e2e\.test\.ts$/.test(file);
}

/** The test files this run selects: all of them unless test path patterns narrow it. */
function selectedTestFiles(globalConfig?: GlobalConfig): string[] {
  const testDir = path.resolve(__dirname, '..');
  const all = (fs.readdirSync(testDir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(testDir, f));
  const patterns = globalConfig?.testPathPatterns;
  if (!patterns || typeof patterns.isSet !== 'function' || !patterns.isSet()) {
    return all;
  }
  try {
    const executor = patterns.toExecutor({ rootDir: globalConfig!.rootDir });
    return all.filter((f) => executor.isMatch(f));
  } catch {
    return all;
  }
}

export default async function globalSetup(globalConfig?: GlobalConfig): Promise<void> {
  const files = selectedTestFiles(globalConfig);
  await checkToolsFor(files);
  const ddbFiles = files.filter(needsDynamoDbLocal);
  // Only e2e files want it, and they skip for a missing tool (not in CI): nothing to start.
  const onlySkippedE2e = ddbFiles.every((f) => f.includes(`${path.sep}e2e${path.sep}`)) && missingTools(E2E_TOOLS) !== undefined;
  if (process.env.DYNAMODB_LOCAL_ENDPOINT || ddbFiles.length === 0 || onlySkippedE2e) {
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
