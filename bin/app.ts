import { App, Aspects, LegacyStackSynthesizer, Stack } from 'aws-cdk-lib';
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

function listContext(app: App, key: string): string[] | undefined {
  return context(app, key)?.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

function context(app: App, key: string): string | undefined {
  const value = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

function enumContext<T extends string>(app: App, key: string, values: Record<string, T>): T | undefined {
  const value = context(app, key);
  if (value === undefined) {
    return undefined;
  }
  const allowed = Object.values(values);
  if (!allowed.includes(value as T)) {
    throw new Error(`context \`${key}\` must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/**
 * Adds the bootstrap stack (and, with `replicaRegion`, the replica stack, which
 * deploys first) to `app`, configured from its context, and applies the
 * profile's cdk-nag packs.
 */
export function buildBootstrapApp(app: App): BootstrapStacks {
  const mode = enumContext(app, 'mode', Mode) ?? Mode.ACCOUNT;
  const profile = enumContext(app, 'profile', Profile) ?? Profile.DEFAULT;
  const replicaRegion = context(app, 'replicaRegion');
  let encryption = enumContext(app, 'encryption', StateEncryption);
  if (profile === Profile.HARDENED) {
    if (!replicaRegion) {
      throw new Error('context `profile` hardened needs `replicaRegion` (the region of the replica bucket), e.g. -c replicaRegion=eu-central-1');
    }
    if (encryption !== undefined && encryption !== StateEncryption.KMS) {
      throw new Error(`context \`profile\` hardened uses a customer-managed key; \`encryption\` must be KMS or unset, got ${JSON.stringify(encryption)}`);
    }
    encryption = StateEncryption.KMS;
  }
  const stateHistoryAdmins = listContext(app, 'stateHistoryAdmins');
  const backendProps: TerraformStateBackendProps = {
    bucketName: context(app, 'bucketName'),
    lockTableName: context(app, 'lockTableName'),
    stateKey: context(app, 'stateKey'),
    workspaceKeyPrefix: context(app, 'workspaceKeyPrefix'),
    locking: enumContext(app, 'locking', LockingMode),
    encryption,
    stateHistoryAdmins,
    organizationId: context(app, 'organizationId'),
    discoveryPrefix: context(app, 'discoveryPrefix'),
  };

  let stacks: BootstrapStacks;
  if (mode === Mode.ORG) {
    if (replicaRegion) {
      throw new Error('context `replicaRegion` is not available with `mode` org: replicate with per-account stacks');
    }
    const organizationalUnitIds = listContext(app, 'organizationalUnits');
    const regions = listContext(app, 'regions');
    if (!organizationalUnitIds || !regions) {
      throw new Error('context `mode` org needs `organizationalUnits` and `regions`, e.g. -c organizationalUnits=ou-ab12-cd34ef56 -c regions=eu-west-1,us-east-1');
    }
    const stack = new Stack(app, context(app, 'stackName') ?? 'TerraformStateBackendStackSet', {
      synthesizer: new LegacyStackSynthesizer(),
      description: 'Terraform s3 backend StackSet for the organization (cdk-terraform-state-backend)',
    });
    new TerraformStateBackendStackSet(stack, 'StackSet', { organizationalUnitIds, regions, backend: backendProps });
    stacks = { stackSet: stack };
  } else {
    const stackName = context(app, 'stackName') ?? 'TerraformStateBackend';
    const replica = replicaRegion ? new TerraformStateReplicaStack(app, `${stackName}Replica`, {
      env: { region: replicaRegion },
      encryption: encryption === StateEncryption.KMS ? ReplicaEncryption.KMS : ReplicaEncryption.S3_MANAGED,
      stateHistoryAdmins,
      organizationId: backendProps.organizationId,
    }) : undefined;
    const backend = new TerraformStateBackendStack(app, stackName, {
      ...backendProps,
      replication: replicaRegion ? { region: replicaRegion } : undefined,
    });
    if (replica) {
      backend.addStackDependency(replica, 'the replica bucket (and key) must exist before replication to it is configured');
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
