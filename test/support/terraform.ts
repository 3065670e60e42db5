/**
 * Runs the real Terraform binary for the end-to-end tests: one private working
 * directory per "runner" (a laptop, a CI job), the backend configured exactly as
 * the construct emits it, plus a second `-backend-config` file that points the
 * backend at the emulators.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cleanEnv, ProcessResult, startProcess, TrackedProcess } from './processes';

/**
 * The configuration every runner applies: one built-in `terraform_data` resource (no
 * provider download), replaced when `run` changes, whose `local-exec` provisioner
 * keeps Terraform running, holding the state lock: `sleep` seconds, or until the file
 * `hold_until` exists (a hold the test ends when it chooses, without racing a timer).
 * `extra_resources` adds that many more resources, so two states can differ in what
 * `terraform state list` shows.
 */
export const MAIN_TF = `terraform {
  backend "s3" {}
}

variable "run" {
  type    = string
  default = "first"
}

variable "sleep" {
  type    = number
  default = 0
}

variable "hold_until" {
  type    = string
  default = ""
}

variable "extra_resources" {
  type    = number
  default = 0
}

resource "terraform_data" "this" {
  triggers_replace = var.run

  provisioner "local-exec" {
    command = var.hold_until == "" ? "sleep \${var.sleep}" : "while [ ! -e '\${var.hold_until}' ]; do sleep 0.1; done"
  }
}

resource "terraform_data" "extra" {
  count = var.extra_resources
}
`;

/** The resource address in MAIN_TF. */
export const RESOURCE_ADDRESS = 'terraform_data.this';

/** The variables of MAIN_TF a run sets (unset: their defaults). */
export interface MainTfVars {
  readonly run?: string;
  readonly sleep?: number;
  /** A file path: the apply holds the lock until this file exists. */
  readonly holdUntil?: string;
  readonly extraResources?: number;
}

export interface EmulatorEndpoints {
  readonly s3: string;
  readonly dynamodb?: string;
  readonly sts?: string;
}

/**
 * The second `-backend-config` file: the emulators' endpoints, path-style S3 URLs,
 * and no calls that need real AWS (credential validation through STS, the account ID,
 * the EC2 metadata service).
 */
export function emulatorBackendConfig(endpoints: EmulatorEndpoints): string {
  const lines = [
    'use_path_style              = true',
    'skip_credentials_validation = true',
    'skip_requesting_account_id  = true',
    'skip_metadata_api_check     = true',
    'endpoints = {',
    `  s3       = "${endpoints.s3}"`,
    ...(endpoints.dynamodb ? [`  dynamodb = "${endpoints.dynamodb}"`] : []),
    ...(endpoints.sts ? [`  sts      = "${endpoints.sts}"`] : []),
    '}',
    '',
  ];
  return lines.join('\n');
}

export interface TerraformDirOptions {
  /** A temporary folder that the caller removes afterwards. */
  readonly root: string;
  /** The runner's folder name under root. */
  readonly name: string;
  /** The first -backend-config file: exactly what the construct emitted. */
  readonly backendConfig: string;
  /** The second -backend-config file (emulatorBackendConfig). */
  readonly emulatorConfig: string;
  /** Further `-backend-config=KEY=VALUE` settings, e.g. `key=...` for another state. */
  readonly backendSettings?: readonly string[];
  /** Credentials the backend signs with (emulators accept any). */
  readonly accessKeyId?: string;
}

/** One Terraform working directory with its own data directory and environment. */
export class TerraformDir {
  /** Creates the folder and its files (nothing runs yet). */
  static create(opts: TerraformDirOptions): TerraformDir {
    return new TerraformDir(opts);
  }

  public readonly dir: string;
  public readonly env: NodeJS.ProcessEnv;
  private readonly settings: readonly string[];

  private constructor(opts: TerraformDirOptions) {
    this.dir = path.join(opts.root, opts.name);
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(path.join(this.dir, 'main.tf'), MAIN_TF);
    fs.writeFileSync(path.join(this.dir, 'backend.hcl'), opts.backendConfig);
    fs.writeFileSync(path.join(this.dir, 'emulator.hcl'), opts.emulatorConfig);
    // The machine's TF_CLI_CONFIG_FILE may name a missing file (Terraform then warns); use an empty one.
    const cliConfig = path.join(opts.root, 'empty.tfrc');
    if (!fs.existsSync(cliConfig)) fs.writeFileSync(cliConfig, '');
    this.settings = opts.backendSettings ?? [];
    this.env = cleanEnv({
      TF_CLI_CONFIG_FILE: cliConfig,
      TF_DATA_DIR: path.join(this.dir, '.terraform'),
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      AWS_ACCESS_KEY_ID: opts.accessKeyId ?? 'e2e',
      AWS_SECRET_ACCESS_KEY: 'e2e',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
  }

  /**
   * Starts `terraform args` here (in its own process group, so a kill reaches
   * local-exec's sleep). The result's text has the diagnostics' frame removed.
   * `env` adds to this runner's environment for this run only (e.g. `TF_LOG`).
   */
  start(args: readonly string[], timeoutMs = 90_000, env: NodeJS.ProcessEnv = {}): TrackedProcess {
    const p = startProcess('terraform', [...args], { cwd: this.dir, env: { ...this.env, ...env }, timeoutMs });
    return { ...p, done: p.done.then(unframe) };
  }

  /** Runs `terraform args` here to its end. */
  run(args: readonly string[], timeoutMs = 90_000): Promise<ProcessResult> {
    return this.start(args, timeoutMs).done;
  }

  /**
   * `terraform init` with the emitted config first, then the emulator overrides,
   * then any further settings. `reconfigure` re-reads a changed backend config.
   */
  init(opts: { reconfigure?: boolean; backendConfig?: string } = {}): Promise<ProcessResult> {
    if (opts.backendConfig !== undefined) {
      fs.writeFileSync(path.join(this.dir, 'backend.hcl'), opts.backendConfig);
    }
    return this.run([
      'init', '-input=false',
      ...(opts.reconfigure ? ['-reconfigure'] : []),
      '-backend-config=backend.hcl',
      '-backend-config=emulator.hcl',
      ...this.settings.map((s) => `-backend-config=${s}`),
    ]);
  }

  /** `terraform apply` of MAIN_TF with the given variables. */
  apply(vars: MainTfVars = {}, extra: readonly string[] = []): Promise<ProcessResult> {
    return this.run(applyArgs(vars, extra));
  }

  /** Starts an apply (see apply). */
  startApply(vars: MainTfVars = {}, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): TrackedProcess {
    return this.start(applyArgs(vars, extra), undefined, env);
  }
}

/** Terraform frames each diagnostic with box-drawing characters (`│ Error: ...`); drops the frame. */
export function unframeText(s: string): string {
  return s.replace(/^[╷│╵] ?/gm, '');
}

function unframe(r: ProcessResult): ProcessResult {
  return { ...r, stdout: unframeText(r.stdout), stderr: unframeText(r.stderr), output: unframeText(r.output) };
}

/** `-var` arguments for MAIN_TF's variables. */
export function varArgs(vars: MainTfVars): string[] {
  return [
    ...(vars.run !== undefined ? ['-var', `run=${vars.run}`] : []),
    ...(vars.sleep !== undefined ? ['-var', `sleep=${vars.sleep}`] : []),
    ...(vars.holdUntil !== undefined ? ['-var', `hold_until=${vars.holdUntil}`] : []),
    ...(vars.extraResources !== undefined ? ['-var', `extra_resources=${vars.extraResources}`] : []),
  ];
}

function applyArgs(vars: MainTfVars, extra: readonly string[]): string[] {
  return ['apply', '-auto-approve', '-input=false', ...varArgs(vars), ...extra];
}

/** The holder that Terraform prints under "Lock Info:" with "Error acquiring the state lock". */
export interface PrintedLockInfo {
  readonly ID: string;
  readonly Path: string;
  readonly Operation: string;
  readonly Who: string;
  readonly Version: string;
  readonly Created: string;
}

/** The "Lock Info:" block of Terraform's output, if there is one. */
export function printedLockInfo(output: string): PrintedLockInfo | undefined {
  const block = /Lock Info:\n((?:\s+\w+:.*\n?)+)/.exec(output);
  if (!block) return undefined;
  const fields: Record<string, string> = {};
  for (const line of block[1].split('\n')) {
    const m = /^\s+(\w+):\s*(.*)$/.exec(line);
    if (m) fields[m[1]] = m[2].trim();
  }
  if (!fields.ID) return undefined;
  return {
    ID: fields.ID, Path: fields.Path, Operation: fields.Operation, Who: fields.Who, Version: fields.Version, Created: fields.Created,
  };
}

/** One line for a failed expectation: the command, how it ended, and its output. */
export function describeRun(r: ProcessResult): string {
  const how = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return `$ ${r.command}\n(${how} after ${r.endedAt - r.startedAt} ms)\n${r.output}`;
}
