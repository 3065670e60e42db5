/**
 * The test-tool detection of test/support/tools.ts, on a PATH of stand-ins: a
 * missing required tool fails the run with CI=true; the optional AWS CLI,
 * missing, skips only its tests, with one line, with CI=true too.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkToolsFor, E2E_TOOLS, missingTools } from './support/tools';

const TEMPLATES_E2E = path.join(__dirname, 'e2e', 'templates.e2e.test.ts');

/** Stand-ins that answer the probes as the real tools do. */
const STAND_INS: Record<string, string> = {
  terraform: 'echo \'{"terraform_version":"1.11.4"}\'',
  moto_server: 'echo usage: moto_server',
  java: 'echo \'openjdk version "17.0.2"\' >&2',
  aws: 'echo aws-cli/1.45.11 Python/3.11.7',
};

describe('test tools', () => {
  const saved = { PATH: process.env.PATH, CI: process.env.CI, TEST_TOOLS_MISSING: process.env.TEST_TOOLS_MISSING };
  let bin: string;

  beforeEach(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'test-tools-'));
    process.env.CI = 'true';
  });
  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    fs.rmSync(bin, { recursive: true, force: true });
  });

  /** A PATH of the given stand-ins only. */
  function onPath(tools: string[]): void {
    for (const tool of tools) fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\n${STAND_INS[tool]}\n`, { mode: 0o755 });
    process.env.PATH = bin;
  }

  test('the AWS CLI missing, with CI=true: one SKIPPED line for its test, and the file\'s other tools are checked as required', async () => {
    onPath(['terraform', 'moto_server', 'java']);
    const lines: string[] = [];
    await checkToolsFor([TEMPLATES_E2E], (l) => lines.push(l));
    expect(lines.join('').trim().split('\n')).toEqual([
      'SKIPPED test/e2e/templates.e2e.test.ts: the AWS CLI rollout test (optional tool aws missing: the AWS CLI (aws) not found on PATH (spawn aws ENOENT))',
    ]);
    expect(missingTools(['aws'])).toMatch(/^the AWS CLI \(aws\) not found on PATH/);
    expect(missingTools(E2E_TOOLS)).toBeUndefined();
  });

  test('with the AWS CLI there, nothing is skipped', async () => {
    onPath(['terraform', 'moto_server', 'java', 'aws']);
    const lines: string[] = [];
    await checkToolsFor([TEMPLATES_E2E], (l) => lines.push(l));
    expect(lines).toEqual([]);
    expect(missingTools(['aws', ...E2E_TOOLS])).toBeUndefined();
  });

  test('a required tool missing fails the run with CI=true (the optional one is still only skipped)', async () => {
    onPath(['moto_server', 'java']);
    const lines: string[] = [];
    await expect(checkToolsFor([TEMPLATES_E2E], (l) => lines.push(l)))
      .rejects.toThrow('CI=true and a test tool is missing: test/e2e: terraform not found on PATH');
    expect(lines.join('')).toContain('SKIPPED test/e2e/templates.e2e.test.ts: the AWS CLI rollout test (optional tool aws missing');
  });

  test('the AWS CLI is not looked for when no selected file uses it', async () => {
    onPath([]);
    const lines: string[] = [];
    await checkToolsFor([path.join(__dirname, 'templates.test.ts')], (l) => lines.push(l));
    expect(lines).toEqual([]);
    expect(JSON.parse(process.env.TEST_TOOLS_MISSING!)).toEqual({});
  });
});
