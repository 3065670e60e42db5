import { App, Aws, CfnCondition, CfnParameter, CfnRule, Duration, Fn, LegacyStackSynthesizer, Stack } from 'aws-cdk-lib/core';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS, DEFAULT_NONCURRENT_VERSIONS_TO_RETAIN, defaultBucketName, resolveBackendSettings } from './private/defaults';
import {
  bucketNameParameter,
  discoveryPrefixParameter,
  expirationDaysParameter,
  lockTableNameParameter,
  organizationIdParameter,
  PARAMETER,
  replicaRegionParameter,
  sourceBucketNameParameter,
  sourceRegionParameter,
  stateKeyParameter,
  versionsToRetainParameter,
} from './private/template-parameters';
import { ReplicaEncryption, StateEncryption } from './state-settings';
import { TerraformStateBackend, TerraformStateBackendOptions } from './terraform-state-backend';
import { TerraformStateReplica } from './terraform-state-replica';

/**
 * Internal: the one place that builds the backend's parameterised
 * CloudFormation template, for the published templates (`npm run templates`
 * writes them to templates/) and for `TerraformStateBackendStackSet`, so that
 * both are the same text for the same settings.
 *
 * The stack and construct IDs are the app's (`TerraformStateBackend/Backend`,
 * `TerraformStateBackendReplica/Replica`), so the logical IDs are the app
 * stack's: a stack can move between `cdk deploy` of the app and the template.
 * What differs per account or OU is a parameter; the options given become the
 * parameters' defaults, and the rest of them shape the template.
 *
 * Not exported from the package. It lives beside the constructs it is made
 * of, not in lib/private/, which imports no construct file.
 */

/** The stack ID of the backend template: the app's backend stack's. */
export const BACKEND_STACK_ID = 'TerraformStateBackend';

/**
 * The stack ID of the replica template. The app names its replica stacks
 * `<stackName>Replica-<backend region>`; construct IDs below the stack, and so
 * the logical IDs, are the same.
 */
export const REPLICA_STACK_ID = 'TerraformStateBackendReplica';

/** What a backend template is built from. */
export interface BackendTemplateSpec {
  /** The backend's settings; `stateKey`, `lockTableName`, the version retention, `organizationId` and `discoveryPrefix` become parameter defaults. */
  readonly backend: TerraformStateBackendOptions;
  /** Replicate every state version to the replica in the region of the `ReplicaRegion` parameter (the hardened templates). */
  readonly replicated?: boolean;
}

/** A synthesized template: as data, as the text that is published and inlined, and what synthesis reported. */
export interface SynthesizedTemplate {
  readonly template: Record<string, unknown>;
  readonly text: string;
  readonly messages: cxapi.SynthesisMessage[];
}

/**
 * An app for one template. Of `context` (the enclosing app's), the feature
 * flags and other settings apply; the CDK CLI's `aws:cdk:*` switches (path
 * and asset metadata, version reporting, ...) do not, since they would make
 * the template differ from the published file under `cdk synth`.
 */
export function templateApp(outdir: string, context: Record<string, unknown> = {}): App {
  const kept = Object.fromEntries(Object.entries(context).filter(([key]) => !key.startsWith('aws:cdk:')));
  // postCliContext: applied after the environment's context, as the enclosing app has it.
  return new App({ outdir, postCliContext: kept, analyticsReporting: false, stackTraces: false });
}

/** The template's text: JSON with two-space indentation and a final newline. */
export function templateText(template: unknown): string {
  return `${JSON.stringify(template, undefined, 2)}\n`;
}

/** Synthesizes the app of `stack` and returns the stack's template. */
export function synthesizeTemplate(stack: Stack): SynthesizedTemplate {
  const artifact = (stack.node.root as App).synth().getStackByName(stack.stackName);
  return { template: artifact.template, text: templateText(artifact.template), messages: artifact.messages };
}

/** The description of a backend template. */
export function backendTemplateDescription(spec: BackendTemplateSpec): string {
  const settings = resolveBackendSettings(spec.backend, Aws.ACCOUNT_ID, Aws.REGION);
  return `Terraform s3 backend: state bucket${settings.lockTableName !== undefined ? ' and lock table' : ''}; ` +
    `locking ${settings.locking}, encryption ${settings.encryption}${spec.replicated ? ', replicated to ReplicaRegion' : ''} ` +
    '(cdk-terraform-state-backend)';
}

/**
 * Adds the parameterised backend stack to `app`: parameters for the bucket
 * name (empty: `terraform-state-<account>-<region>`), the lock table name, the
 * state key, the version retention, the organization ID (empty: no boundary),
 * the discovery prefix and, when replicated, the replica region.
 */
export function addBackendTemplateStack(app: App, spec: BackendTemplateSpec): Stack {
  const backend = spec.backend;
  const settings = resolveBackendSettings(backend, Aws.ACCOUNT_ID, Aws.REGION);
  const stack = new Stack(app, BACKEND_STACK_ID, {
    synthesizer: new LegacyStackSynthesizer(),
    description: backendTemplateDescription(spec),
  });
  const makesKey = settings.encryption === StateEncryption.KMS;
  const bucketName = new CfnParameter(stack, PARAMETER.bucketName, bucketNameParameter(!makesKey, spec.replicated));
  const stateBucketName = valueOrDefault(bucketName, 'UseDefaultBucketName', defaultBucketName(Aws.ACCOUNT_ID, Aws.REGION));
  const lockTableName = settings.lockTableName === undefined ? undefined
    : new CfnParameter(stack, PARAMETER.lockTableName, lockTableNameParameter(settings.lockTableName));
  const stateKey = new CfnParameter(stack, PARAMETER.stateKey, stateKeyParameter(settings.stateKey));
  const retention = versionRetentionParameters(stack, backend);
  const organizationId = new CfnParameter(stack, PARAMETER.organizationId, organizationIdParameter(backend.organizationId ?? ''));
  const discoveryPrefix = settings.discoveryPrefix === undefined ? undefined
    : new CfnParameter(stack, PARAMETER.discoveryPrefix, discoveryPrefixParameter(settings.discoveryPrefix));
  const replicaRegion = spec.replicated ? new CfnParameter(stack, PARAMETER.replicaRegion, replicaRegionParameter()) : undefined;
  describeParameters(stack, [
    ['Names', [bucketName, lockTableName, discoveryPrefix]],
    ['Terraform', [stateKey]],
    ['Data protection', [...retention.parameters, organizationId, replicaRegion]],
  ]);

  new TerraformStateBackend(stack, 'Backend', {
    ...backend,
    bucketName: stateBucketName,
    lockTableName: lockTableName?.valueAsString,
    stateKey: stateKey.valueAsString,
    noncurrentVersionExpiration: retention.expiration,
    noncurrentVersionsToRetain: retention.versionsToRetain,
    organizationId: organizationId.valueAsString,
    discoveryPrefix: discoveryPrefix?.valueAsString,
    replication: replicaRegion ? { region: replicaRegion.valueAsString } : undefined,
  });
  return stack;
}

/**
 * Adds the parameterised replica stack (`ReplicaEncryption.KMS`, which serves
 * a backend of either encryption) to `app`: the replica of one backend, named
 * after that backend's bucket. A StackSet gives every account the same
 * parameter values, so the source bucket is not a literal but derives, in each
 * account, from `SourceRegion` (the backend's region) and `SourceBucketName`
 * (empty: `terraform-state-<account>-<SourceRegion>`, as the hardened backend's
 * `BucketName` empty derives it in that region). So the replica bucket is what
 * the backend replicates into: `<source bucket>-replica`. One stack per
 * backend: backends of two regions that replicate into one region need two
 * replica stacks there. Also parameters for the version retention and the
 * organization ID (empty: no boundary); a rule refuses `SourceRegion` equal to
 * the region the stack is deployed to.
 */
export function addReplicaTemplateStack(app: App): Stack {
  const stack = new Stack(app, REPLICA_STACK_ID, {
    synthesizer: new LegacyStackSynthesizer(),
    description: 'Terraform s3 backend: cross-region state replica of the backend in SourceRegion, encryption KMS; deploy before that ' +
      'backend (cdk-terraform-state-backend)',
  });
  const sourceRegion = new CfnParameter(stack, PARAMETER.sourceRegion, sourceRegionParameter());
  const sourceBucketName = new CfnParameter(stack, PARAMETER.sourceBucketName, sourceBucketNameParameter());
  const source = valueOrDefault(sourceBucketName, 'UseDefaultSourceBucketName', defaultBucketName(Aws.ACCOUNT_ID, sourceRegion.valueAsString));
  const retention = versionRetentionParameters(stack, {});
  const organizationId = new CfnParameter(stack, PARAMETER.organizationId, organizationIdParameter(''));
  describeParameters(stack, [
    ['Source backend', [sourceRegion, sourceBucketName]],
    ['Data protection', [...retention.parameters, organizationId]],
  ]);
  new CfnRule(stack, 'SourceRegionRule', {
    assertions: [{
      assert: Fn.conditionNot(Fn.conditionEquals(Aws.REGION, sourceRegion.valueAsString)),
      assertDescription: 'SourceRegion (the backend\'s region) is the region this replica stack is being deployed to: replication within ' +
        'one region does not survive the loss of that region. Deploy the replica to the backend\'s ReplicaRegion, another region.',
    }],
  });
  new TerraformStateReplica(stack, 'Replica', {
    sourceBucketName: source,
    encryption: ReplicaEncryption.KMS,
    noncurrentVersionExpiration: retention.expiration,
    noncurrentVersionsToRetain: retention.versionsToRetain,
    organizationId: organizationId.valueAsString,
  });
  return stack;
}

/** The value of `parameter`, or `fallback` where it is empty (the condition `conditionId`, in the parameter's stack). */
function valueOrDefault(parameter: CfnParameter, conditionId: string, fallback: string): string {
  const empty = new CfnCondition(Stack.of(parameter), conditionId, { expression: Fn.conditionEquals(parameter.valueAsString, '') });
  return Fn.conditionIf(empty.logicalId, fallback, parameter.valueAsString).toString();
}

function versionRetentionParameters(stack: Stack, options: TerraformStateBackendOptions) {
  const days = new CfnParameter(stack, PARAMETER.noncurrentVersionExpirationDays, expirationDaysParameter(
    options.noncurrentVersionExpiration?.toDays() ?? DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS));
  const versions = new CfnParameter(stack, PARAMETER.noncurrentVersionsToRetain, versionsToRetainParameter(
    options.noncurrentVersionsToRetain ?? DEFAULT_NONCURRENT_VERSIONS_TO_RETAIN));
  return { parameters: [days, versions], expiration: Duration.days(days.valueAsNumber), versionsToRetain: versions.valueAsNumber };
}

/** The console's grouping of the parameters (`AWS::CloudFormation::Interface`). */
function describeParameters(stack: Stack, groups: Array<[string, Array<CfnParameter | undefined>]>): void {
  stack.templateOptions.metadata = {
    'AWS::CloudFormation::Interface': {
      ParameterGroups: groups
        .map(([label, parameters]) => ({ label, ids: parameters.filter((p): p is CfnParameter => p !== undefined).map((p) => p.node.id) }))
        .filter((g) => g.ids.length > 0)
        .map((g) => ({ Label: { default: g.label }, Parameters: g.ids })),
    },
  };
}
