/**
 * The published templates: which configurations there are, what each file is
 * called, and how each is built (from the constructs, through
 * lib/backend-template.ts, like the StackSet's). `npm run templates`
 * writes them; index.json lists them for tools (the CLI package ships the
 * folder and reads the index to pick a file).
 */
import { App, Stack } from 'aws-cdk-lib/core';
import { LockingMode, StateEncryption } from '../../lib';
import { addBackendTemplateStack, addReplicaTemplateStack, BackendTemplateSpec } from '../../lib/backend-template';

/** The locking modes and encryptions a landing zone chooses between, in the order of the catalogue. */
export const LOCKINGS = [LockingMode.DYNAMODB, LockingMode.S3_LOCKFILE, LockingMode.DYNAMODB_AND_S3_LOCKFILE] as const;
export const ENCRYPTIONS = [StateEncryption.S3_MANAGED, StateEncryption.KMS] as const;

/** cdk-nag packs, by the names cdk-nag gives their rules' prefixes. */
export type NagPack = 'AwsSolutions' | 'HIPAA.Security' | 'NIST.800.53.R5' | 'PCI.DSS.321';
const DEFAULT_PACKS: NagPack[] = ['AwsSolutions'];
const HARDENED_PACKS: NagPack[] = ['AwsSolutions', 'HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'];

/** One published template. */
export interface CatalogueTemplate {
  /** The file name in templates/, without `.template.json`. */
  readonly id: string;
  readonly kind: 'backend' | 'replica';
  /** `hardened`: what `-c profile=hardened` of the app builds (a KMS key, replication, checked with four nag packs). */
  readonly profile: 'default' | 'hardened';
  /** Undefined for the replica. */
  readonly locking?: LockingMode;
  readonly encryption: StateEncryption;
  /** Replicates into the replica template's bucket, in the region of the `ReplicaRegion` parameter. */
  readonly replicated: boolean;
  /** The cdk-nag packs it is checked with (test/templates.test.ts). */
  readonly nagPacks: NagPack[];
  /** The template that must be deployed first (in the replica region), by id. */
  readonly deployFirst?: string;
  /** Adds its stack to `app` (an app made by `templateApp`). */
  build(app: App): Stack;
}

/** The file name of a template. */
export function templateFile(id: string): string {
  return `${id}.template.json`;
}

/** `DYNAMODB_AND_S3_LOCKFILE` -> `dynamodb-and-s3-lockfile`. */
export function kebab(value: string): string {
  return value.toLowerCase().replace(/_/g, '-');
}

const REPLICA_ID = 'hardened-replica';

function backend(id: string, profile: 'default' | 'hardened', spec: BackendTemplateSpec): CatalogueTemplate {
  return {
    id,
    kind: 'backend',
    profile,
    locking: spec.backend.locking!,
    encryption: spec.backend.encryption!,
    replicated: spec.replicated ?? false,
    nagPacks: profile === 'hardened' ? HARDENED_PACKS : DEFAULT_PACKS,
    deployFirst: spec.replicated ? REPLICA_ID : undefined,
    build: (app) => addBackendTemplateStack(app, spec),
  };
}

/**
 * Every template: each locking mode with each encryption (standalone, one
 * stack per account and region), then the hardened profile's: the replica
 * (deployed first, in the replica region) and a hardened backend per locking
 * mode (KMS, replicated). Everything else is the construct's default.
 */
export const CATALOGUE: readonly CatalogueTemplate[] = [
  ...LOCKINGS.flatMap((locking) => ENCRYPTIONS.map((encryption) =>
    backend(`backend-${kebab(locking)}-${kebab(encryption)}`, 'default', { backend: { locking, encryption } }))),
  {
    id: REPLICA_ID,
    kind: 'replica',
    profile: 'hardened',
    encryption: StateEncryption.KMS,
    replicated: false,
    nagPacks: HARDENED_PACKS,
    build: (app) => addReplicaTemplateStack(app),
  },
  ...LOCKINGS.map((locking) => backend(`hardened-backend-${kebab(locking)}`, 'hardened', {
    backend: { locking, encryption: StateEncryption.KMS },
    replicated: true,
  })),
];

/** A template by id. */
export function catalogueTemplate(id: string): CatalogueTemplate {
  const found = CATALOGUE.find((t) => t.id === id);
  if (!found) throw new Error(`no template ${id} in the catalogue`);
  return found;
}

/**
 * What a landing zone deploys together, in order: a standalone backend, or the
 * replica and then a hardened backend. Named after its backend.
 */
export interface Rollout {
  readonly id: string;
  readonly templates: readonly CatalogueTemplate[];
}

export const ROLLOUTS: readonly Rollout[] = CATALOGUE.filter((t) => t.kind === 'backend').map((t) => ({
  id: t.id,
  templates: t.deployFirst ? [catalogueTemplate(t.deployFirst), t] : [t],
}));
