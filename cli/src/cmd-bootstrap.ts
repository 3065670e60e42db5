/**
 * `bootstrap`: deploys the backend into the caller's account and region through
 * CloudFormation, from a template this package ships (nothing is synthesized here).
 *
 * 1. Check the flags and the files to write, then the region (known to a partition).
 * 2. Read the stack (by --stack-name, the app's stack name by default, so a stack made by
 *    `cdk deploy` of the app is updated in place: the templates keep its logical IDs).
 *    A stack in ROLLBACK_COMPLETE or in the middle of an operation is refused.
 * 3. Names not given keep what the stack has (its parameters, or the physical names of a
 *    stack the app made); a name given that differs from the stack's is refused before
 *    any change set (the bucket or table would be replaced).
 * 4. Create a change set (CREATE or UPDATE) with a name unique to this run, wait for it,
 *    show it, and judge it (change-set.ts): a replacement or removal of a resource with a
 *    fixed name, or of the state bucket, is refused and the change set deleted.
 * 5. --dry-run stops there (deleting the change set, and the empty stack a CREATE change
 *    set leaves in REVIEW_IN_PROGRESS). Without --yes it asks on a terminal; without one it
 *    does not execute and says to pass --yes.
 * 6. Execute, showing the stack's events on stderr until it settles; a failure is named
 *    from the events (a bucket name taken, an action refused) with what to do.
 * 7. Print the backend block (the stack's outputs; where a stack returns none, as moto's
 *    CloudFormation, it is built from the stack's parameters and physical resource IDs,
 *    and says so) and write the files asked for, never over an existing file.
 */
import { randomBytes } from 'crypto';
import {
  Capability, CloudFormationClient, CreateChangeSetCommand, DeleteChangeSetCommand, DeleteStackCommand, DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand, ExecuteChangeSetCommand, GetTemplateCommand, ListStackResourcesCommand, Parameter, Stack, StackEvent,
  StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { awsError } from './aws';
import { changeLine, isNoChanges, judgeChanges, Judged, LOCK_TABLE_ID, ResourceChange, Resources, STATE_BUCKET_ID } from './change-set';
import { CliError, ExitCode, usageError } from './errors';
import { shellQuote, toJson } from './format';
import { checkRegion } from './regions';
import { backendTemplate, Encryption, ENCRYPTIONS, Locking, LOCKING_MODES, oneOf, parameterFault, Template } from './templates';

/** The stack name of the app's backend stack (bin/app.ts), so both update the same stack. */
export const DEFAULT_STACK_NAME = 'TerraformStateBackend';

/** The part of a CloudFormation client bootstrap uses (the SDK's, or a fake). */
export interface CloudFormationLike {
  readonly send: CloudFormationClient['send'];
  readonly config?: { readonly region?: () => Promise<string> };
}

/** Everything bootstrap uses from outside. */
export interface BootstrapIo {
  readonly out: (text: string) => void;
  readonly note: (text: string) => void;
  readonly cloudformation: (region: string | undefined) => CloudFormationLike;
  /** Whether a person can be asked (stdin and stderr are terminals). */
  readonly interactive: boolean;
  readonly confirm: (question: string) => Promise<boolean>;
  readonly fileExists: (file: string) => boolean;
  /** Writes a new file; fails if it exists. */
  readonly writeNewFile: (file: string, text: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
}

/** The command line's values, as given. */
export interface BootstrapFlags {
  readonly locking?: string;
  readonly encryption?: string;
  readonly stackName?: string;
  readonly region?: string;
  readonly regionFromEnv?: string;
  readonly bucket?: string;
  readonly table?: string;
  readonly stateKey?: string;
  readonly organizationId?: string;
  readonly discoveryPrefix?: string;
  readonly noncurrentVersionExpirationDays?: string;
  readonly noncurrentVersionsToRetain?: string;
  readonly dryRun: boolean;
  readonly yes: boolean;
  readonly json: boolean;
  readonly writeBackendTf?: string;
  readonly writeBackendConfig?: string;
}

/** Each flag that sets a template parameter. */
const PARAMETER_FLAGS: ReadonlyArray<[keyof BootstrapFlags, string, string]> = [
  ['bucket', '--bucket', 'BucketName'],
  ['table', '--table', 'LockTableName'],
  ['stateKey', '--state-key', 'StateKey'],
  ['organizationId', '--organization-id', 'OrganizationId'],
  ['discoveryPrefix', '--discovery-prefix', 'DiscoveryPrefix'],
  ['noncurrentVersionExpirationDays', '--noncurrent-version-expiration-days', 'NoncurrentVersionExpirationDays'],
  ['noncurrentVersionsToRetain', '--noncurrent-versions-to-retain', 'NoncurrentVersionsToRetain'],
];

const POLL_MS = 2000;
const IN_PROGRESS = /_IN_PROGRESS$/;

/** The settings checked before any AWS call. */
interface Checked {
  readonly locking: Locking;
  readonly encryption: Encryption;
  readonly template: Template;
  readonly stackName: string;
  /** Parameter values given by flags. */
  readonly given: Readonly<Record<string, string>>;
}

/** Checks every flag and file before AWS is asked anything; all faults at once. */
export function checkFlags(f: BootstrapFlags, fileExists: (file: string) => boolean): Checked {
  const faults: string[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      faults.push((e as Error).message);
      return undefined;
    }
  };
  const locking = attempt(() => oneOf('--locking', f.locking ?? 'DYNAMODB', LOCKING_MODES));
  const encryption = attempt(() => oneOf('--encryption', f.encryption ?? 'S3_MANAGED', ENCRYPTIONS));
  const stackName = f.stackName ?? DEFAULT_STACK_NAME;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    faults.push(`--stack-name must be a CloudFormation stack name (a letter, then up to 127 letters, digits and "-"), got ${JSON.stringify(stackName)}`);
  }
  for (const [flag, file] of [['--write-backend-tf', f.writeBackendTf], ['--write-backend-config', f.writeBackendConfig]] as const) {
    if (file !== undefined && fileExists(file)) {
      faults.push(`${flag} ${file}: the file exists; it is never overwritten: remove it or name another file`);
    }
  }
  if (f.writeBackendTf !== undefined && f.writeBackendTf === f.writeBackendConfig) {
    faults.push(`--write-backend-tf and --write-backend-config name the same file, ${f.writeBackendTf}`);
  }
  const given: Record<string, string> = {};
  let template: Template | undefined;
  if (locking !== undefined && encryption !== undefined) {
    template = attempt(() => backendTemplate(locking, encryption));
    if (template !== undefined) {
      for (const [key, flag, name] of PARAMETER_FLAGS) {
        const value = f[key] as string | undefined;
        if (value === undefined) continue;
        const p = template.parameters[name];
        if (p === undefined) {
          faults.push(`${flag} does not apply to --locking ${locking}${name === 'LockTableName' ? ': S3 lock files need no table' : ''}`);
          continue;
        }
        const fault = parameterFault(p, value);
        if (fault !== undefined) {
          faults.push(`${flag} must be ${fault}, got ${JSON.stringify(value)}`);
          continue;
        }
        given[name] = value;
      }
    }
  }
  if (f.region !== undefined) {
    attempt(() => checkRegion(f.region!, '--region'));
  }
  if (faults.length > 0) {
    throw usageError(faults.length === 1 ? faults[0] : `bootstrap: ${faults.length} problems; nothing was done:\n${faults.map((x) => `  - ${x}`).join('\n')}`);
  }
  return { locking: locking!, encryption: encryption!, template: template!, stackName, given };
}

/** A unique change-set name for this run (moto looks change sets up by name across stacks). */
function changeSetName(now: Date): string {
  return `tfstate-ops-bootstrap-${now.toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(4).toString('hex')}`;
}

function stackArnPattern(region: string, stackName: string): string {
  return `arn:aws:cloudformation:${region}:<account>:stack/${stackName}/*`;
}

/** The command that deletes a stack, for the messages. */
function deleteStackCommand(stackName: string, region: string): string {
  return `aws cloudformation delete-stack --stack-name ${shellQuote(stackName)} --region ${region}`;
}

export async function bootstrapCommand(io: BootstrapIo, f: BootstrapFlags): Promise<ExitCode> {
  const checked = checkFlags(f, io.fileExists);
  const { template, stackName } = checked;
  const cfn = io.cloudformation(f.region ?? f.regionFromEnv);
  const region = await resolveRegion(cfn, f);
  const stackResource = stackArnPattern(region, stackName);
  const call = async <T>(action: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw awsError(e, { action: `cloudformation:${action}`, resource: stackResource });
    }
  };

  // 2. The stack as it is.
  const stack = await call('DescribeStacks', () => cfn.send(new DescribeStacksCommand({ StackName: stackName })))
    .then((r) => r.Stacks?.[0] as Stack | undefined)
    .catch((e: CliError) => {
      if (/does not exist/.test(e.message)) return undefined;
      throw e;
    });
  const status = stack?.StackStatus;
  if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED') {
    throw new CliError(`stack ${stackName} (${region}) is in ${status}: its creation failed and was rolled back, and CloudFormation cannot update it. `
      + `Delete it, then run this again: ${deleteStackCommand(stackName, region)} (see its events for why it failed: `
      + `aws cloudformation describe-stack-events --stack-name ${shellQuote(stackName)} --region ${region})`, ExitCode.REFUSED);
  }
  if (status !== undefined && status !== 'REVIEW_IN_PROGRESS' && IN_PROGRESS.test(status)) {
    throw new CliError(`stack ${stackName} (${region}) is in ${status}: another operation is running on it; wait until it ends and run this again`, ExitCode.REFUSED);
  }
  if (status === 'DELETE_FAILED' || status === 'UPDATE_ROLLBACK_FAILED') {
    throw new CliError(`stack ${stackName} (${region}) is in ${status} and cannot be updated: see its events (aws cloudformation describe-stack-events `
      + `--stack-name ${shellQuote(stackName)} --region ${region}) and repair it first`, ExitCode.REFUSED);
  }
  const exists = stack !== undefined && status !== 'REVIEW_IN_PROGRESS';
  const changeSetType = exists ? 'UPDATE' : 'CREATE';

  // 3. The parameters: given, or what the stack has.
  let resources: StackResourceSummary[] = [];
  let oldResources: Resources | undefined;
  if (exists) {
    resources = await listResources(cfn, stackName, call);
    oldResources = await call('GetTemplate', () => cfn.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' })))
      .then((r) => {
        try {
          return (JSON.parse(r.TemplateBody ?? '') as { Resources?: Resources }).Resources;
        } catch {
          return undefined; // A YAML template: removals of any nameable resource are then judged named.
        }
      });
  }
  const physical = (id: string) => resources.find((r) => r.LogicalResourceId === id)?.PhysicalResourceId;
  const previous = new Set((stack?.Parameters ?? []).map((p) => p.ParameterKey));
  const parameters: Parameter[] = [];
  const kept: string[] = [];
  const refusedNames: string[] = [];
  for (const name of Object.keys(template.parameters)) {
    const given = checked.given[name];
    const current = name === 'BucketName' ? physical(STATE_BUCKET_ID) : name === 'LockTableName' ? physical(LOCK_TABLE_ID) : undefined;
    if (given !== undefined) {
      if (current !== undefined && given !== current && !(name === 'BucketName' && given === '')) {
        const flag = name === 'BucketName' ? '--bucket' : '--table';
        refusedNames.push(`${flag} ${given}: the stack's ${name === 'BucketName' ? 'state bucket' : 'lock table'} is ${current}; a new name would replace it `
          + `(${name === 'BucketName' ? 'the state in it would be left behind or deleted' : 'the locks in it would be lost'})`);
      }
      parameters.push({ ParameterKey: name, ParameterValue: given });
    } else if (exists && previous.has(name)) {
      parameters.push({ ParameterKey: name, UsePreviousValue: true });
      kept.push(name);
    } else if (current !== undefined) {
      // A stack the app made has the names in its template, not as parameters: keep them.
      parameters.push({ ParameterKey: name, ParameterValue: current });
      kept.push(`${name} (${current})`);
    }
  }
  if (refusedNames.length > 0) {
    throw new CliError(`refused, nothing was changed: ${refusedNames.join('; ')}. Leave the flag out (the stack's name is kept) or pass the current name; `
      + 'for a backend under another name, deploy a new stack (--stack-name) and move the state with `terraform init -migrate-state`', ExitCode.REFUSED,
    { refused: refusedNames });
  }
  io.note(`${changeSetType === 'CREATE' ? 'creating' : 'updating'} stack ${stackName} in ${region} from ${template.entry.file}`
    + `${stack?.Tags?.some((t) => t.Key === 'aws:cdk:path') || oldResources?.CDKMetadata ? ' (a stack made by cdk deploy)' : ''}`
    + `${kept.length > 0 ? `; kept from the stack: ${kept.join(', ')}` : ''}`);

  // 4. The change set.
  const csName = changeSetName(io.now());
  const created = await call('CreateChangeSet', () => cfn.send(new CreateChangeSetCommand({
    StackName: stackName,
    ChangeSetName: csName,
    ChangeSetType: changeSetType,
    TemplateBody: template.body,
    Parameters: parameters,
    Capabilities: template.entry.capabilities.length > 0 ? [...template.entry.capabilities] as Capability[] : undefined,
    Description: `tfstate-ops bootstrap: ${template.entry.file}`,
  }))).then(() => true, (e: CliError) => {
    // CloudFormation says so in the change set's status; moto also refuses the change set itself.
    if (exists && isNoChanges(e.message)) return false;
    throw e;
  });
  if (!created) {
    io.note(`stack ${stackName} is up to date: nothing to change (CreateChangeSet: No updates are to be performed.)`);
    return finish(io, f, cfn, stackName, region, checked, call,
      { stackName, region, template: template.entry.file, changeSetType, changes: [], executed: false, upToDate: true });
  }
  const cleanUp = async () => {
    await call('DeleteChangeSet', () => cfn.send(new DeleteChangeSetCommand({ StackName: stackName, ChangeSetName: csName })));
    if (stack === undefined) {
      // This run's CREATE change set made an empty stack (REVIEW_IN_PROGRESS): leave nothing
      // behind. One that was there before (someone else's change sets may be on it) stays.
      await call('DeleteStack', () => cfn.send(new DeleteStackCommand({ StackName: stackName })));
    }
  };
  const described = await waitForChangeSet(io, cfn, stackName, csName, call);
  const noChanges = (described.status === 'FAILED' && isNoChanges(described.reason)) || (described.status === 'CREATE_COMPLETE' && described.changes.length === 0 && exists);
  if (described.status === 'FAILED' && !noChanges) {
    await cleanUp();
    throw new CliError(`the change set for stack ${stackName} failed: ${described.reason ?? 'no reason given'}; nothing was changed`, ExitCode.FAILURE);
  }
  const judged = judgeChanges(described.changes, oldResources, template.resources);
  const summary = { stackName, region, template: template.entry.file, changeSetName: csName, changeSetType, changes: judged.map(changeJson) };

  if (noChanges) {
    await cleanUp();
    io.note(`stack ${stackName} is up to date: nothing to change (${described.reason ?? 'the change set lists no changes'})`);
    return finish(io, f, cfn, stackName, region, checked, call, { ...summary, executed: false, upToDate: true });
  }
  if (!f.json) {
    io.out(`Change set ${csName} (${changeSetType}) for stack ${stackName} in ${region}:\n${judged.map((j) => `  ${changeLine(j)}`).join('\n')}\n`);
  }
  const refused = judged.filter((j) => j.refused !== undefined);
  if (refused.length > 0) {
    await cleanUp();
    throw new CliError(`refused, nothing was changed (the change set was deleted): ${refused.map((j) => j.refused).join('; ')}. `
      + 'Run again with the stack\'s current names and settings (leave --bucket and --table out to keep them), or, for a backend with other names, '
      + 'deploy a new stack (--stack-name) and move the state with `terraform init -migrate-state`', ExitCode.REFUSED, { ...summary, refused: refused.map((j) => j.refused) });
  }
  if (f.dryRun) {
    await cleanUp();
    io.note(`dry run: change set ${csName} deleted, nothing executed${stack === undefined ? ' (and the empty stack the CREATE change set made deleted)' : ''}`);
    if (f.json) io.out(toJson({ ...summary, executed: false, dryRun: true }));
    return ExitCode.OK;
  }
  if (!f.yes) {
    if (!io.interactive) {
      await cleanUp();
      throw usageError(`not executed (the change set was deleted): there is no terminal to ask on; pass --yes to execute the changes above without a prompt`);
    }
    if (!(await io.confirm(`Execute change set ${csName} on stack ${stackName} in ${region}? [y/N] `))) {
      await cleanUp();
      io.note('not executed: the change set was deleted');
      return ExitCode.REFUSED;
    }
  }

  // 6. Execute, with the stack's events as progress.
  const seen = new Set((await recentEvents(cfn, stackName, new Set(), call)).map((e) => e.EventId));
  const failures: StackEvent[] = [];
  try {
    await cfn.send(new ExecuteChangeSetCommand({ StackName: stackName, ChangeSetName: csName }));
  } catch (e) {
    // moto makes the resources inside ExecuteChangeSet and answers a resource's failure with
    // that service's error body, which the SDK cannot parse: read it as a failed event.
    const err = e as { name?: string; message?: string };
    const raw = rawErrorBody(e) ?? (err.name === 'ParameterAlreadyExists'
      ? { ResourceType: 'AWS::SSM::Parameter', LogicalResourceId: '(ExecuteChangeSet)', ResourceStatusReason: `${err.name}: ${err.message}` } : undefined);
    if (raw === undefined) throw awsError(e, { action: 'cloudformation:ExecuteChangeSet', resource: stackResource });
    const state = (await call('DescribeStacks', () => cfn.send(new DescribeStacksCommand({ StackName: stackName })))).Stacks?.[0]?.StackStatus ?? 'unknown';
    throw stackFailure(stackName, region, state, [{ ...raw, ResourceStatus: 'CREATE_FAILED' } as StackEvent], checked);
  }
  let final: string;
  for (;;) {
    for (const e of (await recentEvents(cfn, stackName, seen, call)).reverse()) {
      seen.add(e.EventId);
      io.note(`  ${(e.Timestamp ? new Date(e.Timestamp).toISOString().slice(11, 19) : '--:--:--')}  ${e.ResourceStatus}  ${e.ResourceType}  ${e.LogicalResourceId}`
        + `${e.ResourceStatusReason ? `  ${e.ResourceStatusReason}` : ''}`);
      if (/FAILED$/.test(e.ResourceStatus ?? '') && e.ResourceType !== 'AWS::CloudFormation::Stack') failures.push(e);
    }
    final = (await call('DescribeStacks', () => cfn.send(new DescribeStacksCommand({ StackName: stackName })))).Stacks?.[0]?.StackStatus ?? '';
    if (!IN_PROGRESS.test(final)) break;
    await io.sleep(POLL_MS);
  }
  if (final !== 'CREATE_COMPLETE' && final !== 'UPDATE_COMPLETE') {
    throw stackFailure(stackName, region, final, failures, checked);
  }
  return finish(io, f, cfn, stackName, region, checked, call, { ...summary, executed: true, status: final });
}

/** An error response the SDK could not parse (`{error}.$response`), as a failed event: its type and message. */
function rawErrorBody(e: unknown): Pick<StackEvent, 'ResourceType' | 'ResourceStatusReason' | 'LogicalResourceId'> | undefined {
  const body = (e as { $response?: { body?: unknown } }).$response?.body;
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : undefined;
  if (text === undefined || !/XML parse error|Deserialization error/i.test((e as Error).message ?? '')) return undefined;
  let type: string;
  let message = text;
  try {
    const parsed = JSON.parse(text) as { __type?: string; message?: string; Message?: string };
    type = parsed.__type ?? '';
    message = `${type.replace(/^.*#/, '')}: ${parsed.message ?? parsed.Message ?? text}`;
  } catch {
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
    const said = /<Message>([^<]+)<\/Message>/.exec(text)?.[1];
    if (code !== undefined) message = `${code}: ${said ?? ''}`;
    type = code ?? '';
  }
  const resourceType = /dynamodb/i.test(type) ? 'AWS::DynamoDB::Table' : /Bucket/.test(type) ? 'AWS::S3::Bucket' : 'unknown';
  return { ResourceType: resourceType, LogicalResourceId: '(ExecuteChangeSet)', ResourceStatusReason: message };
}

type Call = <T>(action: string, fn: () => Promise<T>) => Promise<T>;

async function resolveRegion(cfn: CloudFormationLike, f: BootstrapFlags): Promise<string> {
  let region = f.region ?? f.regionFromEnv;
  if (region === undefined) {
    try {
      region = await cfn.config?.region?.();
    } catch {
      region = undefined;
    }
  }
  if (region === undefined || region === '') {
    throw usageError('no region: pass --region, set AWS_REGION, or use a profile (AWS_PROFILE) that names one');
  }
  checkRegion(region, f.region !== undefined ? '--region' : f.regionFromEnv !== undefined ? 'AWS_REGION' : 'the profile\'s region');
  return region;
}

async function listResources(cfn: CloudFormationLike, stackName: string, call: Call): Promise<StackResourceSummary[]> {
  const out: StackResourceSummary[] = [];
  let token: string | undefined;
  do {
    const r = await call('ListStackResources', () => cfn.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: token })));
    out.push(...(r.StackResourceSummaries ?? []));
    token = r.NextToken;
  } while (token);
  return out;
}

async function waitForChangeSet(io: BootstrapIo, cfn: CloudFormationLike, stackName: string, name: string, call: Call) {
  const changes: ResourceChange[] = [];
  for (;;) {
    const r = await call('DescribeChangeSet', () => cfn.send(new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: name })));
    if (r.Status === 'CREATE_PENDING' || r.Status === 'CREATE_IN_PROGRESS') {
      await io.sleep(POLL_MS);
      continue;
    }
    changes.push(...(r.Changes ?? []).map((c: { ResourceChange?: ResourceChange }) => c.ResourceChange ?? {}));
    let token: string | undefined = r.NextToken;
    while (token) {
      const page = await call('DescribeChangeSet', () => cfn.send(new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: name, NextToken: token })));
      changes.push(...(page.Changes ?? []).map((c: { ResourceChange?: ResourceChange }) => c.ResourceChange ?? {}));
      token = page.NextToken;
    }
    return { status: r.Status as string, reason: r.StatusReason as string | undefined, changes };
  }
}

/** The events not seen yet, newest first (DescribeStackEvents' order), stopping at the first seen one. */
async function recentEvents(cfn: CloudFormationLike, stackName: string, seen: Set<string | undefined>, call: Call): Promise<StackEvent[]> {
  const out: StackEvent[] = [];
  let token: string | undefined;
  do {
    const r = await call('DescribeStackEvents', () => cfn.send(new DescribeStackEventsCommand({ StackName: stackName, NextToken: token })));
    for (const e of (r.StackEvents ?? []) as StackEvent[]) {
      if (seen.has(e.EventId)) return out;
      out.push(e);
    }
    token = seen.size === 0 ? undefined : r.NextToken;
  } while (token);
  return out;
}

/** The error a failed deployment becomes: what failed, as the events tell it, and what to do. */
export function stackFailure(stackName: string, region: string, status: string, failures: readonly StackEvent[], checked: Pick<Checked, 'given'>): CliError {
  const reasons = failures.map((e) => `${e.LogicalResourceId} (${e.ResourceType}): ${e.ResourceStatusReason ?? e.ResourceStatus}`);
  const text = failures.map((e) => e.ResourceStatusReason ?? '').join('\n');
  const then = status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED'
    ? ` The stack is left in ${status}: delete it before running this again: ${deleteStackCommand(stackName, region)}.`
    : status === 'UPDATE_ROLLBACK_COMPLETE' ? ' The update was rolled back: the stack is as it was.' : '';
  const taken = failures.find((e) => e.ResourceType === 'AWS::S3::Bucket' && /BucketAlreadyExists|already exists/i.test(e.ResourceStatusReason ?? ''));
  if (taken !== undefined) {
    const name = checked.given.BucketName ?? /(?:bucket|name)[^a-z0-9]*([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/i.exec(taken.ResourceStatusReason ?? '')?.[1] ?? 'the bucket name';
    const ownedByYou = /BucketAlreadyOwnedByYou/i.test(taken.ResourceStatusReason ?? '');
    return new CliError(`stack ${stackName} failed (${status}): the bucket name ${name} is already taken (S3 ${ownedByYou ? 'BucketAlreadyOwnedByYou: a bucket of this account outside this stack has it'
      : 'BucketAlreadyExists: bucket names are global, across all AWS accounts'}). Pass another name with --bucket.${then}`, ExitCode.FAILURE, { status, failures: reasons });
  }
  const tableTaken = failures.find((e) => e.ResourceType === 'AWS::DynamoDB::Table' && /already exists|ResourceInUse/i.test(e.ResourceStatusReason ?? ''));
  if (tableTaken !== undefined) {
    return new CliError(`stack ${stackName} failed (${status}): a DynamoDB table of that name already exists in this account and region, outside this stack `
      + `(${tableTaken.ResourceStatusReason}). Pass another name with --table (or --locking S3_LOCKFILE for no table).${then}`, ExitCode.FAILURE,
    { status, failures: reasons });
  }
  const parameterTaken = failures.find((e) => e.ResourceType === 'AWS::SSM::Parameter' && /already exists/i.test(e.ResourceStatusReason ?? ''));
  if (parameterTaken !== undefined) {
    return new CliError(`stack ${stackName} failed (${status}): a discovery parameter already exists outside this stack (${parameterTaken.ResourceStatusReason}): `
      + `another backend publishes under that prefix in this account and region. Pass another --discovery-prefix.${then}`, ExitCode.FAILURE, { status, failures: reasons });
  }
  const denied = /not authorized to perform:? ([\w-]+:[\w*-]+)/.exec(text) ?? /\b(?:AccessDenied|is not authorized)\b.*?\b([a-z0-9-]+:[A-Z]\w+)/.exec(text);
  if (denied !== null) {
    return new CliError(`stack ${stackName} failed (${status}): ${denied[1]} was refused: CloudFormation creates the backend with your credentials, `
      + `so they need it (\`${'tfstate-ops'} bootstrap --help\` lists what bootstrap needs). Ask for ${denied[1]}, or use credentials that have it (AWS_PROFILE).${then}`
      + `\n${reasons.map((r) => `  ${r}`).join('\n')}`, ExitCode.FAILURE, { status, action: denied[1], failures: reasons });
  }
  return new CliError(`stack ${stackName} failed (${status})${reasons.length > 0 ? `:\n${reasons.map((r) => `  ${r}`).join('\n')}\n` : '. '}${then.trim()}`,
    ExitCode.FAILURE, { status, failures: reasons });
}

function changeJson(j: Judged) {
  return { ...j.change, ...(j.refused ? { refused: j.refused } : {}) };
}

/** The backend as the stack's outputs say it, or as its parameters and resources make it. */
export interface BackendOut {
  readonly backendBlock: string;
  readonly backendConfig: string;
  /** Where they came from. */
  readonly from: 'outputs' | 'resources';
}

/** `key = "value"` lines aligned as the templates' outputs align them. */
export function backendLines(settings: ReadonlyArray<[string, string | boolean]>, indent = ''): string {
  const width = Math.max(...settings.map(([k]) => k.length));
  return settings.map(([k, v]) => `${indent}${k.padEnd(width)} = ${typeof v === 'boolean' ? String(v) : JSON.stringify(v)}\n`).join('');
}

/** The backend block and config from the stack's parameters and physical resource IDs (a stack that returns no outputs). */
export function backendFromResources(stack: Stack, resources: readonly StackResourceSummary[], locking: Locking, region: string): BackendOut {
  const physical = (prefix: string, type: string) => resources.find((r) => r.ResourceType === type && (r.LogicalResourceId ?? '').startsWith(prefix))?.PhysicalResourceId;
  const parameter = (name: string) => stack.Parameters?.find((p) => p.ParameterKey === name)?.ParameterValue;
  const bucket = physical(STATE_BUCKET_ID, 'AWS::S3::Bucket');
  if (bucket === undefined) {
    throw new CliError(`stack ${stack.StackName} has no state bucket (${STATE_BUCKET_ID}) among its resources`, ExitCode.FAILURE);
  }
  const account = /^arn:[\w-]+:cloudformation:[\w-]+:(\d{12}):/.exec(stack.StackId ?? '')?.[1];
  const partition = /^arn:([\w-]+):/.exec(stack.StackId ?? '')?.[1] ?? 'aws';
  const key = physical('BackendStateKey', 'AWS::KMS::Key');
  const settings: Array<[string, string | boolean]> = [['bucket', bucket], ['key', parameter('StateKey') ?? 'terraform.tfstate'], ['region', region]];
  if (locking !== 'S3_LOCKFILE') settings.push(['dynamodb_table', physical(LOCK_TABLE_ID, 'AWS::DynamoDB::Table') ?? parameter('LockTableName') ?? 'terraform-lock']);
  if (locking !== 'DYNAMODB') settings.push(['use_lockfile', true]);
  settings.push(['encrypt', true]);
  if (key !== undefined) settings.push(['kms_key_id', key.startsWith('arn:') ? key : `arn:${partition}:kms:${region}:${account}:key/${key}`]);
  return {
    backendBlock: `terraform {\n  backend "s3" {\n${backendLines(settings, '    ')}  }\n}\n`,
    backendConfig: backendLines(settings),
    from: 'resources',
  };
}

async function finish(io: BootstrapIo, f: BootstrapFlags, cfn: CloudFormationLike, stackName: string, region: string, checked: Checked, call: Call,
  summary: Record<string, unknown>): Promise<ExitCode> {
  const stack = (await call('DescribeStacks', () => cfn.send(new DescribeStacksCommand({ StackName: stackName })))).Stacks?.[0] as Stack;
  const output = (prefix: string) => stack.Outputs?.find((o) => (o.OutputKey ?? '').startsWith(prefix))?.OutputValue;
  let backend: BackendOut;
  if (output('BackendBackendBlock') !== undefined && output('BackendBackendConfigFile') !== undefined) {
    backend = { backendBlock: output('BackendBackendBlock')!, backendConfig: output('BackendBackendConfigFile')!, from: 'outputs' };
  } else {
    backend = backendFromResources(stack, await listResources(cfn, stackName, call), checked.locking, region);
    io.note(`stack ${stackName} returned no outputs: the backend below is built from its parameters and physical resource IDs, `
      + 'not read from its BackendBlock output');
  }
  const written: string[] = [];
  for (const [file, text] of [[f.writeBackendTf, backend.backendBlock], [f.writeBackendConfig, backend.backendConfig]] as const) {
    if (file === undefined) continue;
    try {
      io.writeNewFile(file, text);
    } catch (e) {
      const err = e as { code?: string; message: string };
      throw new CliError(`${file}: ${err.code === 'EEXIST' ? 'the file exists (made while bootstrap ran); not overwritten' : `cannot write it: ${err.message}`}. `
        + `The stack is deployed; the backend configuration is:\n${backend.backendConfig}`, ExitCode.FAILURE);
    }
    written.push(file);
  }
  if (f.json) {
    io.out(toJson({ ...summary, backend: { ...backend }, written }));
    return ExitCode.OK;
  }
  io.out(`${summary.executed ? `Stack ${stackName} is ${summary.status} in ${region}.` : `Stack ${stackName} in ${region} already matches: nothing changed.`}\n\n`
    + `${backend.backendBlock}`);
  for (const file of written) {
    io.out(`\nWrote ${file}${file === f.writeBackendConfig ? ` (terraform init -backend-config=${shellQuote(file)})` : ''}`);
  }
  if (written.length > 0) io.out('\n');
  return ExitCode.OK;
}
