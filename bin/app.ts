import { App, Aspects, Aws, CfnRule, Fn, LegacyStackSynthesizer, Stack } from 'aws-cdk-lib/core';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import {
  LockingMode,
  ReplicaEncryption,
  StateEncryption,
  TerraformStateBackendProps,
  TerraformStateBackendStack,
  TerraformStateBackendStackSet,
  TerraformStateReplicaStack,
} from '../lib';
import { defaultBucketName } from '../lib/private/defaults';
import {
  bucketNameFaults,
  discoveryPrefixFaults,
  enumFaults,
  organizationalUnitIdFaults,
  organizationIdFaults,
  principalArnFaults,
  regionFaults,
  repeatedValueFaults,
  stateKeyFaults,
  tableNameFaults,
  workspaceKeyPrefixFaults,
} from '../lib/private/validate';

/**
 * The context keys the bootstrap app reads (`cdk synth -c key=value`).
 */
export const CONTEXT_KEYS = [
  'stackName',
  'bucketName',
  'lockTableName',
  'stateKey',
  'workspaceKeyPrefix',
  'locking',
  'encryption',
  'stateHistoryAdmins',
  'replicaRegion',
  'profile',
  'organizationId',
  'discoveryPrefix',
  'mode',
  'organizationalUnits',
  'regions',
] as const;

/** A context key of the bootstrap app. */
export type ContextKey = typeof CONTEXT_KEYS[number];

/**
 * `account`: the backend stack (and its replica) for the account and region the
 * CLI deploys to. `org`: a stack for the organization's management (or
 * delegated administrator) account whose StackSet rolls the backend out to
 * `organizationalUnits` in `regions`.
 */
export enum Mode {
  ACCOUNT = 'account',
  ORG = 'org',
}

/**
 * `default`: the construct's defaults, checked with cdk-nag's AwsSolutions pack.
 * `hardened`: customer KMS key, cross-region replication, access logs and history
 * protection, checked with the AwsSolutions, HIPAA Security, NIST 800-53 R5 and
 * PCI DSS 3.2.1 packs.
 */
export enum Profile {
  DEFAULT = 'default',
  HARDENED = 'hardened',
}

/** The stacks of the bootstrap app. */
export interface BootstrapStacks {
  /** The backend stack (mode `account`). */
  readonly backend?: TerraformStateBackendStack;
  /** The replica stack (mode `account` with `replicaRegion`). */
  readonly replica?: TerraformStateReplicaStack;
  /** The StackSet stack (mode `org`). */
  readonly stackSet?: Stack;
}

/**
 * A fault in the context the app was given (`-c key=value`, or cdk.json's
 * `context`): every fault, each naming the key as the user typed it. bin/
 * prints its message without a stack trace.
 */
export class ContextError extends Error {
  public constructor(faults: string[]) {
    super(`Invalid context for the bootstrap app (-c key=value):\n${faults.map((f) => `  - ${f}`).join('\n')}`);
    this.name = 'ContextError';
  }
}

/**
 * Whether a context key is one for this app to judge. The keys that the CDK CLI
 * and aws-cdk-lib put into the context all hold ":" or "/": `aws:cdk:*`, the
 * feature flags `@aws-cdk/<module>:<flag>`, and the lookups cached in
 * cdk.context.json.
 */
function isAppKey(key: string): boolean {
  return !key.includes(':') && !key.includes('/');
}

/** The edit distance of two strings (insertions, deletions and substitutions). */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/**
 * The context key closest to `key`, ignoring case, if one is close enough to be
 * a likely typo: a few letters off, or the start of a key (`lockTable`).
 */
function closestKey(key: string): string | undefined {
  const typed = key.toLowerCase();
  const ranked = CONTEXT_KEYS
    .map((k) => ({ k, d: typed.length >= 4 && k.toLowerCase().startsWith(typed) ? 0.5 : editDistance(typed, k.toLowerCase()) }))
    .sort((x, y) => x.d - y.d);
  return ranked[0].d <= Math.max(2, Math.floor(key.length / 3)) ? ranked[0].k : undefined;
}

/** Quotes a value for a POSIX shell when it needs it. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9_.,:/@=+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The environment variables the app reads: `CDK_DEFAULT_REGION`, which the CDK
 * CLI sets to the region it deploys to (from `AWS_REGION`, the profile, or
 * us-east-1), is the backend's region when it replicates.
 */
export type BootstrapEnvironment = Readonly<Record<string, string | undefined>>;

/** What the app read from its context, every value checked. */
interface BootstrapContext {
  readonly mode: Mode;
  readonly profile: Profile;
  /** The app's own keys that were set, as given (for the deploy command). */
  readonly given: ReadonlyArray<[ContextKey, string]>;
  readonly stackName?: string;
  readonly bucketName?: string;
  readonly lockTableName?: string;
  readonly stateKey?: string;
  readonly workspaceKeyPrefix?: string;
  readonly locking?: LockingMode;
  readonly encryption?: StateEncryption;
  readonly stateHistoryAdmins?: string[];
  readonly replicaRegion?: string;
  /** The backend's region, with `replicaRegion` (from `CDK_DEFAULT_REGION`). */
  readonly backendRegion?: string;
  readonly organizationId?: string;
  readonly discoveryPrefix?: string;
  readonly organizationalUnits?: string[];
  readonly regions?: string[];
}

/** The keys that only one mode reads, and why the other does not. */
const ACCOUNT_MODE_ONLY: Partial<Record<ContextKey, string>> = {
  replicaRegion: 'replicate with per-account stacks (`mode=account`), since a StackSet cannot deploy the replica before each backend',
  bucketName: 'bucket names are global, so each account and region of the StackSet derives its own (terraform-state-<account>-<region>)',
};
const ORG_MODE_ONLY: Partial<Record<ContextKey, string>> = {
  organizationalUnits: 'it names where the StackSet deploys',
  regions: 'it names where the StackSet deploys',
};

/**
 * Reads and checks the app's context: unknown keys (with the closest key
 * suggested), keys the mode does not read, enum values (in any case), and every
 * value by the rules the constructs apply to the prop it sets, naming the
 * context key. With `replicaRegion`, the backend's region comes from
 * `CDK_DEFAULT_REGION` and must differ from it. Throws a `ContextError` with
 * every fault.
 */
export function readBootstrapContext(app: App, env: BootstrapEnvironment = process.env): BootstrapContext {
  const faults: string[] = [];
  const given: Array<[ContextKey, string]> = [];
  const all: Record<string, unknown> = app.node.getAllContext();
  for (const [key, raw] of Object.entries(all)) {
    if (!isAppKey(key) || raw === undefined || raw === null || raw === '') {
      continue;
    }
    if (!(CONTEXT_KEYS as readonly string[]).includes(key)) {
      const closest = closestKey(key);
      faults.push(closest
        ? `\`${key}\` is not a context key of this app; did you mean \`${closest}\`?`
        : `\`${key}\` is not a context key of this app, which reads ${CONTEXT_KEYS.join(', ')}`);
      continue;
    }
    given.push([key as ContextKey, String(raw)]);
  }
  given.sort(([a], [b]) => CONTEXT_KEYS.indexOf(a) - CONTEXT_KEYS.indexOf(b));
  const value = (key: ContextKey) => given.find(([k]) => k === key)?.[1];
  const list = (key: ContextKey) => value(key)?.split(',').map((v) => v.trim()).filter((v) => v !== '');
  function enumValue<T extends string>(key: ContextKey, values: Record<string, T>): T | undefined {
    const v = value(key);
    if (v === undefined) {
      return undefined;
    }
    const match = Object.values(values).find((allowed) => allowed.toLowerCase() === v.toLowerCase());
    faults.push(...(match === undefined ? enumFaults(key, v, values) : []));
    return match;
  }

  const mode = enumValue('mode', Mode) ?? Mode.ACCOUNT;
  const profile = enumValue('profile', Profile) ?? Profile.DEFAULT;
  const ctx = {
    mode,
    profile,
    given,
    stackName: value('stackName'),
    bucketName: value('bucketName'),
    lockTableName: value('lockTableName'),
    stateKey: value('stateKey'),
    workspaceKeyPrefix: value('workspaceKeyPrefix'),
    locking: enumValue('locking', LockingMode),
    encryption: enumValue('encryption', StateEncryption),
    stateHistoryAdmins: list('stateHistoryAdmins'),
    replicaRegion: value('replicaRegion'),
    backendRegion: mode === Mode.ACCOUNT && value('replicaRegion') !== undefined ? env.CDK_DEFAULT_REGION || undefined : undefined,
    organizationId: value('organizationId'),
    discoveryPrefix: value('discoveryPrefix'),
    organizationalUnits: list('organizationalUnits'),
    regions: list('regions'),
  } satisfies BootstrapContext;

  // The same rules as the props these keys set, named after the key.
  const check = <V>(key: ContextKey, v: V | undefined, rule: (key: string, v: V) => string[]) => {
    if (v !== undefined) {
      faults.push(...rule(key, v));
    }
  };
  check('bucketName', ctx.bucketName, bucketNameFaults);
  check('lockTableName', ctx.lockTableName, tableNameFaults);
  check('stateKey', ctx.stateKey, stateKeyFaults);
  check('workspaceKeyPrefix', ctx.workspaceKeyPrefix, workspaceKeyPrefixFaults);
  ctx.stateHistoryAdmins?.forEach((arn) => check('stateHistoryAdmins', arn, principalArnFaults));
  check('replicaRegion', ctx.replicaRegion, regionFaults);
  check('organizationId', ctx.organizationId, organizationIdFaults);
  check('discoveryPrefix', ctx.discoveryPrefix, discoveryPrefixFaults);
  ctx.organizationalUnits?.forEach((ou) => check('organizationalUnits', ou, organizationalUnitIdFaults));
  check('organizationalUnits', ctx.organizationalUnits, (k, v) => repeatedValueFaults(k, 'an organizational unit', v));
  ctx.regions?.forEach((region) => check('regions', region, regionFaults));
  check('regions', ctx.regions, (k, v) => repeatedValueFaults(k, 'a region', v));

  // What each mode and profile reads and needs.
  const notRead = mode === Mode.ORG ? ACCOUNT_MODE_ONLY : ORG_MODE_ONLY;
  for (const [key, why] of Object.entries(notRead)) {
    if (value(key as ContextKey) !== undefined) {
      faults.push(`\`${key}\` applies only with \`mode=${mode === Mode.ORG ? Mode.ACCOUNT : Mode.ORG}\`: ${why}`);
    }
  }
  if (mode === Mode.ORG) {
    if (profile === Profile.HARDENED) {
      faults.push('`profile=hardened` is for `mode=account` only: it adds a replica stack, which a StackSet cannot deploy before each backend');
    }
    if (!ctx.organizationalUnits || !ctx.regions) {
      faults.push('`mode=org` needs `organizationalUnits` and `regions`, e.g. -c organizationalUnits=ou-ab12-cd34ef56 -c regions=eu-west-1,us-east-1');
    }
  } else if (ctx.replicaRegion !== undefined && regionFaults('replicaRegion', ctx.replicaRegion).length === 0) {
    // The replica is named after the backend's bucket, whose default name holds
    // the backend's region: the app must know it (and can then tell whether
    // the two regions differ).
    if (ctx.backendRegion === undefined) {
      faults.push('`replicaRegion` needs the region the backend stack is deployed to, to name its replica after it, and CDK_DEFAULT_REGION ' +
        'is not set: run the app through the CDK CLI (`npx cdk synth`/`deploy`), which sets it from AWS_REGION or your profile\'s region, ' +
        'e.g. AWS_REGION=eu-west-1 npx cdk deploy --all -c replicaRegion=' + ctx.replicaRegion);
    } else {
      faults.push(...regionFaults('CDK_DEFAULT_REGION', ctx.backendRegion));
      if (ctx.backendRegion === ctx.replicaRegion) {
        faults.push(`\`replicaRegion\` must differ from the backend's region, got ${JSON.stringify(ctx.replicaRegion)} for both ` +
          '(the backend\'s region is the one the CDK CLI deploys to, CDK_DEFAULT_REGION, from AWS_REGION or your profile): ' +
          'replication within one region does not survive the loss of that region; choose another `replicaRegion`');
      }
    }
  }
  if (mode === Mode.ACCOUNT && profile === Profile.HARDENED) {
    if (!ctx.replicaRegion) {
      faults.push('`profile=hardened` needs `replicaRegion` (the region of the replica bucket), e.g. -c replicaRegion=eu-central-1');
    }
    if (ctx.encryption !== undefined && ctx.encryption !== StateEncryption.KMS) {
      faults.push(`\`profile=hardened\` uses a customer-managed key; \`encryption\` must be KMS or unset, got ${JSON.stringify(value('encryption'))}`);
    }
  }
  if (faults.length > 0) {
    throw new ContextError(faults);
  }
  return ctx;
}

/**
 * Adds the bootstrap stack (and, with `replicaRegion`, the replica stack, which
 * deploys first) to `app`, configured from its context, and applies the
 * profile's cdk-nag packs.
 *
 * @throws ContextError when the context has faults
 */
export function buildBootstrapApp(app: App, env: BootstrapEnvironment = process.env): BootstrapStacks {
  const ctx = readBootstrapContext(app, env);
  const { mode, profile, replicaRegion, backendRegion, stateHistoryAdmins } = ctx;
  const encryption = profile === Profile.HARDENED ? StateEncryption.KMS : ctx.encryption;
  const backendProps: TerraformStateBackendProps = {
    bucketName: ctx.bucketName,
    lockTableName: ctx.lockTableName,
    stateKey: ctx.stateKey,
    workspaceKeyPrefix: ctx.workspaceKeyPrefix,
    locking: ctx.locking,
    encryption,
    stateHistoryAdmins,
    organizationId: ctx.organizationId,
    discoveryPrefix: ctx.discoveryPrefix,
  };

  let stacks: BootstrapStacks;
  if (mode === Mode.ORG) {
    const stack = new Stack(app, ctx.stackName ?? 'TerraformStateBackendStackSet', {
      synthesizer: new LegacyStackSynthesizer(),
      description: 'Terraform s3 backend StackSet for the organization (cdk-terraform-state-backend)',
    });
    new TerraformStateBackendStackSet(stack, 'StackSet', {
      organizationalUnitIds: ctx.organizationalUnits!,
      regions: ctx.regions!,
      backend: backendProps,
    });
    stacks = { stackSet: stack };
  } else {
    const stackName = ctx.stackName ?? 'TerraformStateBackend';
    // One replica stack per backend, named after the backend's region as its
    // bucket is named after the backend's bucket: backends of two regions that
    // replicate into one region get two replica stacks there.
    const replica = replicaRegion && backendRegion ? new TerraformStateReplicaStack(app, `${stackName}Replica-${backendRegion}`, {
      env: { region: replicaRegion },
      sourceBucketName: ctx.bucketName ?? defaultBucketName(Aws.ACCOUNT_ID, backendRegion),
      encryption: encryption === StateEncryption.KMS ? ReplicaEncryption.KMS : ReplicaEncryption.S3_MANAGED,
      stateHistoryAdmins,
      organizationId: backendProps.organizationId,
    }) : undefined;
    const backend = new TerraformStateBackendStack(app, stackName, {
      backend: {
        ...backendProps,
        replication: replicaRegion ? { region: replicaRegion } : undefined,
      },
    });
    if (replica && backendRegion) {
      backend.addStackDependency(replica, 'the replica bucket (and key) must exist before replication to it is configured');
      // The template stays environment-agnostic (its names from AWS::Region, as
      // without a replica), but its replica was made for this region.
      new CfnRule(backend, 'ReplicaMadeForThisRegion', {
        assertions: [{
          assert: Fn.conditionEquals(Aws.REGION, backendRegion),
          assertDescription: `This stack was synthesized for ${backendRegion} (CDK_DEFAULT_REGION), and its replica stack ${replica.stackName} ` +
            `is named for it: deploy it to ${backendRegion}, or synthesize again with AWS_REGION set to the region you deploy to.`,
        }],
      });
    }
    stacks = { backend, replica };
  }

  Aspects.of(app).add(new AwsSolutionsChecks());
  if (profile === Profile.HARDENED) {
    Aspects.of(app).add(new HIPAASecurityChecks());
    Aspects.of(app).add(new NIST80053R5Checks());
    Aspects.of(app).add(new PCIDSS321Checks());
  }
  return stacks;
}

/** The parts of a template that `nextSteps` reads. */
interface TemplateParts {
  readonly Outputs?: Record<string, unknown>;
  readonly Resources?: Record<string, { Type: string; Properties?: { Name?: unknown } }>;
}

/** The logical ID of a template's output that holds the backend block, and the names of its SSM parameters. */
function whereTheBlockIs(template: TemplateParts) {
  const outputs = Object.keys(template.Outputs ?? {}).filter((id) => id.includes('BackendBlock'));
  const parameters = Object.values(template.Resources ?? {})
    .filter((r) => r.Type === 'AWS::SSM::Parameter' && typeof r.Properties?.Name === 'string')
    .map((r) => r.Properties!.Name as string);
  return { output: outputs[0], parameters };
}

/** "a", "a and b", "a, b and c". */
function joinAnd(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * What to do after a synth, for a person: the deploy command (with the context
 * the app was given), and where the backend block appears: the stack output
 * and the SSM discovery parameters. bin/ prints it to stderr, since stdout is
 * the template's.
 */
export function nextSteps(app: App, stacks: BootstrapStacks, assembly: cxapi.CloudAssembly, env: BootstrapEnvironment = process.env): string {
  const ctx = readBootstrapContext(app, env);
  const context = ctx.given.map(([k, v]) => ` -c ${k}=${shellQuote(v)}`).join('');
  const lines = ['', 'To deploy and use this backend:'];
  if (stacks.stackSet) {
    const template = assembly.getStackArtifact(stacks.stackSet.artifactId).template;
    const stackSet = Object.values<{ Type: string; Properties: { TemplateBody: string } }>(template.Resources)
      .find((r) => r.Type === 'AWS::CloudFormation::StackSet');
    const where = whereTheBlockIs(stackSet ? JSON.parse(stackSet.Properties.TemplateBody) : {});
    lines.push(
      '  1. Deploy the StackSet from the organization\'s management account (or a delegated administrator account),',
      '     with its credentials:',
      `       npx cdk deploy ${stacks.stackSet.stackName}${context}`,
      `  2. It deploys the backend stack into every account of ${joinAnd(ctx.organizationalUnits ?? [])}, in ${joinAnd(ctx.regions ?? [])}.`,
      `     There, the stack output ${where.output ?? '(see the stack outputs)'} holds the \`terraform { backend "s3" { ... } }\` block,`,
      `     and the SSM parameters ${joinAnd(where.parameters)} hold its settings for pipelines.`,
    );
  } else if (stacks.backend) {
    const name = stacks.backend.stackName;
    const where = whereTheBlockIs(assembly.getStackArtifact(stacks.backend.artifactId).template);
    lines.push(
      '  1. Deploy with your AWS credentials (no `cdk bootstrap` needed):',
      stacks.replica
        ? `       npx cdk deploy --all${context}      # ${stacks.replica.stackName} (in ${stacks.replica.region}) first`
        : `       npx cdk deploy ${name}${context}`,
      `  2. The stack output ${where.output ?? 'whose name holds BackendBlock'} holds the \`terraform { backend "s3" { ... } }\` block:`,
      `       aws cloudformation describe-stacks --stack-name ${name} \\`,
      `         --query "Stacks[0].Outputs[?${where.output ? `OutputKey=='${where.output}'` : "contains(OutputKey, 'BackendBlock')"}].OutputValue" --output text > backend.tf`,
      '     then run `terraform init`.',
    );
    if (where.parameters.length > 0) {
      lines.push(`  Pipelines find the settings in the SSM parameters ${joinAnd(where.parameters)}.`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const NAG_PACK_PREFIX = /^(AwsSolutions|HIPAA\.Security|NIST\.800\.53\.R5|PCI\.DSS\.321)-/;

/**
 * The cdk-nag findings (errors and warnings) in a synthesized assembly, one
 * line each.
 */
export function nagFindings(assembly: cxapi.CloudAssembly): string[] {
  return assembly.stacks.flatMap((stack) => stack.messages
    .filter((m) => NAG_PACK_PREFIX.test(String(m.entry.data)))
    .map((m) => `${m.level}: ${m.id}: ${String(m.entry.data).split('\n')[0]}`));
}
