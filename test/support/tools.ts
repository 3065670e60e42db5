/**
 * The external tools some test files need, which come from the machine image and
 * not from a registry: Terraform, moto_server, cfn-lint and Java. They are
 * detected, never installed.
 *
 * jest's globalSetup checks the tools of the selected test files once. A missing
 * tool makes its files skip, with one line on stderr naming it; with `CI=true` it
 * fails the run instead, so these tests can never vanish from CI. The result
 * reaches the test workers through the `TEST_TOOLS_MISSING` environment variable.
 *
 * An optional tool (the AWS CLI, which the machine image does not promise) is
 * needed by single tests only: missing, those tests are skipped, with one line on
 * stderr naming them, also with `CI=true`, and the rest of their file runs.
 */
import { spawn } from 'child_process';

export type Tool = 'terraform' | 'moto_server' | 'cfn-lint' | 'java' | 'aws';

/** Oldest Terraform the end-to-end tests accept: `use_lockfile` arrived in 1.10. */
export const MIN_TERRAFORM = [1, 10] as const;

/** What the end-to-end files (test/e2e) need: Java for DynamoDB Local. */
export const E2E_TOOLS: readonly Tool[] = ['terraform', 'moto_server', 'java'];

/** The tools each kind of test file needs, by a test of its path. */
export const TOOLS_BY_FILE: ReadonlyArray<{ readonly name: string; readonly test: RegExp; readonly tools: readonly Tool[] }> = [
  { name: 'test/e2e', test: /[\\/]test[\\/]e2e[\\/].*\.test\.ts$/, tools: E2E_TOOLS },
  { name: 'test/cfn-lint.test.ts', test: /[\\/]test[\\/]cfn-lint\.test\.ts$/, tools: ['cfn-lint'] },
  { name: 'test/terraform-fmt.test.ts', test: /[\\/]test[\\/]terraform-fmt\.test\.ts$/, tools: ['terraform'] },
];

/** The optional tools, the test files that use them and which of their tests need them (each made with `testWithTools`). */
export const OPTIONAL_TOOLS: ReadonlyArray<{ readonly tool: Tool; readonly name: string; readonly test: RegExp; readonly tests: string }> = [
  // Runs the published AWS CLI StackSet commands with the real CLI (v1 or v2), against moto_server.
  {
    tool: 'aws', name: 'test/e2e/templates.e2e.test.ts', test: /[\\/]test[\\/]e2e[\\/]templates\.e2e\.test\.ts$/,
    tests: 'the AWS CLI rollout test',
  },
];

const ENV_VAR = 'TEST_TOOLS_MISSING';

/** Runs a command with a clean Terraform environment; resolves its exit code and output. */
function probe(file: string, args: string[]): Promise<{ code: number | null; output: string; error?: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: '1' };
    delete env.TF_CLI_CONFIG_FILE;
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    child.stdout.on('data', (c) => { output += c; });
    child.stderr.on('data', (c) => { output += c; });
    child.on('error', (e) => resolve({ code: null, output, error: e.message }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** undefined when the tool works, else why not (one line). */
export async function checkTool(tool: Tool): Promise<string | undefined> {
  switch (tool) {
    case 'terraform': {
      const r = await probe('terraform', ['version', '-json']);
      if (r.code !== 0) return `terraform not found on PATH (${r.error ?? r.output.trim().split('\n')[0]})`;
      const version = /"terraform_version":\s*"(\d+)\.(\d+)\.(\d+)/.exec(r.output);
      if (!version) return `terraform version -json printed no version: ${r.output.trim().slice(0, 200)}`;
      const [major, minor] = [Number(version[1]), Number(version[2])];
      if (major < MIN_TERRAFORM[0] || (major === MIN_TERRAFORM[0] && minor < MIN_TERRAFORM[1])) {
        return `terraform ${version.slice(1).join('.')} is older than ${MIN_TERRAFORM.join('.')} (use_lockfile)`;
      }
      return undefined;
    }
    case 'moto_server': {
      const r = await probe('moto_server', ['--help']);
      return r.code === 0 ? undefined : `moto_server not found on PATH (${r.error ?? r.output.trim().split('\n').pop()})`;
    }
    case 'cfn-lint': {
      const r = await probe('cfn-lint', ['--version']);
      return r.code === 0 ? undefined : `cfn-lint not found on PATH (${r.error ?? r.output.trim().split('\n').pop()})`;
    }
    case 'aws': {
      const r = await probe('aws', ['--version']);
      return r.code === 0 && /aws-cli\/\d/.test(r.output) ? undefined : `the AWS CLI (aws) not found on PATH (${r.error ?? r.output.trim().split('\n').pop()})`;
    }
    case 'java': {
      const r = await probe('java', ['-version']);
      const m = /version "(\d+)(?:\.(\d+))?/.exec(r.output);
      const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
      if (r.code !== 0) return `java not found on PATH (${r.error ?? r.output.trim().split('\n')[0]})`;
      return major >= 17 ? undefined : `java 17+ needed, found ${m ? m[0] : 'an unknown version'}`;
    }
  }
}

/** The tools the given test files need. */
export function toolsFor(files: readonly string[]): Tool[] {
  const tools = new Set<Tool>();
  for (const f of files) {
    for (const rule of TOOLS_BY_FILE) {
      if (rule.test.test(f)) rule.tools.forEach((t) => tools.add(t));
    }
  }
  return [...tools];
}

/**
 * globalSetup: checks the tools that `files` need; records the missing ones for the
 * workers. Locally prints one line naming them; with CI=true throws instead. A
 * missing optional tool prints one line naming the tests it skips, also with CI=true.
 */
export async function checkToolsFor(files: readonly string[], write: (line: string) => void = (l) => process.stderr.write(l)): Promise<void> {
  const tools = toolsFor(files);
  const optional = OPTIONAL_TOOLS.filter((o) => files.some((f) => o.test.test(f)));
  const missing: Partial<Record<Tool, string>> = {};
  await Promise.all([...new Set([...tools, ...optional.map((o) => o.tool)])].map(async (t) => {
    const why = await checkTool(t);
    if (why) missing[t] = why;
  }));
  process.env[ENV_VAR] = JSON.stringify(missing);
  for (const o of optional.filter((x) => missing[x.tool] !== undefined)) {
    write(`\nSKIPPED ${o.name}: ${o.tests} (optional tool ${o.tool} missing: ${missing[o.tool]})\n`);
  }
  const reasons = tools.map((t) => missing[t]).filter((r): r is string => r !== undefined);
  if (reasons.length === 0) return;
  const skipped = TOOLS_BY_FILE.filter((r) => r.tools.some((t) => missing[t]) && files.some((f) => r.test.test(f)))
    .map((r) => r.name);
  const line = `${skipped.join(', ')}: ${reasons.join('; ')}`;
  if (process.env.CI === 'true') {
    throw new Error(`CI=true and a test tool is missing: ${line}`);
  }
  write(`\nSKIPPED ${line} (with CI=true this fails the run)\n`);
}

/**
 * In a test file: why these tools cannot be used (one line), or undefined when all
 * are there (or were not checked: then the tests run and fail on their own).
 * Throws without globalSetup's result (a run that bypassed it).
 */
export function missingTools(tools: readonly Tool[]): string | undefined {
  const raw = process.env[ENV_VAR];
  if (raw === undefined) {
    throw new Error(`${ENV_VAR} is not set: run through jest, whose globalSetup checks the tools (${tools.join(', ')})`);
  }
  const missing = JSON.parse(raw) as Partial<Record<Tool, string>>;
  const reasons = tools.map((t) => missing[t]).filter((r): r is string => r !== undefined);
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/**
 * `test`, or `test.skip` with the reason in its name when one of `tools` is missing:
 * for the tests that need an optional tool (globalSetup has printed the reason).
 */
export function testWithTools(tools: readonly Tool[], name: string, fn: () => Promise<unknown>, timeout?: number): void {
  const missing = missingTools(tools);
  if (missing) {
    test.skip(`${name} [skipped: ${missing}]`, fn);
  } else {
    test(name, fn, timeout);
  }
}

/**
 * `describe`, or `describe.skip` with the reason in its name when a tool is missing
 * (jest then counts the tests as skipped, and globalSetup has printed the reason).
 */
export function describeWithTools(tools: readonly Tool[], name: string, fn: () => void): void {
  const missing = missingTools(tools);
  if (missing) {
    describe.skip(`${name} [skipped: ${missing}]`, fn);
  } else {
    describe(name, fn);
  }
}
