import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnParameter, Duration, LegacyStackSynthesizer, Stack } from 'aws-cdk-lib';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import { Construct } from 'constructs';
import { DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS, DEFAULT_NONCURRENT_VERSIONS_TO_RETAIN } from './bucket-hardening';
import { TerraformStateBackend, TerraformStateBackendProps } from './terraform-state-backend';
import {
  integerRangeFaults,
  lifecycleDaysFaults,
  organizationalUnitIdFaults,
  regionFaults,
  repeatedValueFaults,
  show,
  stateKeyFaults,
  throwIfFaults,
} from './validation';
import { assertAwsCdkLibVersion } from './private/cdk-version';

/** CloudFormation's limit for a template passed inline (`TemplateBody`). */
const TEMPLATE_BODY_LIMIT = 51_200;

/**
 * Whom the StackSet is administered as.
 */
export enum StackSetCallAs {
  /** The organization's management account. */
  SELF = 'SELF',
  /** A delegated administrator account for CloudFormation StackSets. */
  DELEGATED_ADMIN = 'DELEGATED_ADMIN',
}

/**
 * How a StackSet operation proceeds across regions.
 */
export enum RegionConcurrency {
  /** One region at a time. */
  SEQUENTIAL = 'SEQUENTIAL',
  /** All regions at once. */
  PARALLEL = 'PARALLEL',
}

/**
 * Properties of a `TerraformStateBackendStackSet`.
 */
export interface TerraformStateBackendStackSetProps {
  /**
   * The organizational units (`ou-...`), or the organization root (`r-...`),
   * whose accounts get a backend. Accounts that join them later get one too.
   */
  readonly organizationalUnitIds: string[];

  /**
   * The regions each account gets a backend in.
   */
  readonly regions: string[];

  /**
   * The backend's settings, the same in every account and region. Names always
   * derive from the account and region, so `bucketName` is not allowed, and
   * neither are settings that refer to constructs of this app
   * (`encryptionKey`, `serverAccessLogsBucket`) or `replication`.
   *
   * @default - the construct's defaults
   */
  readonly backend?: TerraformStateBackendProps;

  /**
   * The StackSet's name.
   *
   * @default 'terraform-state-backend'
   */
  readonly stackSetName?: string;

  /**
   * Whether this account is the management account or a delegated administrator.
   *
   * @default StackSetCallAs.SELF
   */
  readonly callAs?: StackSetCallAs;

  /**
   * Keep an account's stacks (and so its state) when it leaves the target
   * organizational units.
   *
   * @default true
   */
  readonly retainStacksOnAccountRemoval?: boolean;

  /**
   * The percentage of accounts deployed at once, per region: 1 to 100.
   *
   * @default 25
   */
  readonly maxConcurrentPercentage?: number;

  /**
   * The percentage of accounts, per region, that may fail before the operation
   * stops: 0 to 100.
   *
   * @default 0
   */
  readonly failureTolerancePercentage?: number;

  /**
   * Whether regions are deployed one after the other or in parallel.
   *
   * @default RegionConcurrency.PARALLEL
   */
  readonly regionConcurrency?: RegionConcurrency;
}

/**
 * Rolls a `TerraformStateBackend` out to every account of some organizational
 * units, in several regions, with CloudFormation StackSets (service-managed
 * permissions, automatic deployment to new accounts). Add it to a stack in the
 * organization's management account or a delegated administrator account.
 *
 * The backend stack's own template is inlined (`TemplateBody`): no assets, no
 * imports, every name derived from the account and region. Per-account choices
 * are CloudFormation parameters (`StateKey`, `NoncurrentVersionExpirationDays`,
 * `NoncurrentVersionsToRetain`), which stack-instance parameter overrides can set.
 */
export class TerraformStateBackendStackSet extends Construct {
  /**
   * The StackSet.
   */
  public readonly stackSet: cloudformation.CfnStackSet;

  /**
   * The backend template the StackSet deploys (JSON text).
   */
  public readonly templateBody: string;

  /**
   * @param scope the construct (a stack in the management or delegated administrator account)
   * @param id the StackSet's construct ID
   * @param props the targets, the backend's settings and the roll-out settings
   */
  constructor(scope: Construct, id: string, props: TerraformStateBackendStackSetProps) {
    super(scope, id);
    assertAwsCdkLibVersion();
    throwIfFaults(this.node.path, validateProps(props));

    this.templateBody = JSON.stringify(backendTemplate(props.backend ?? {}));
    if (this.templateBody.length > TEMPLATE_BODY_LIMIT) {
      throw new Error(`${this.node.path}: the backend template is ${this.templateBody.length} bytes, over CloudFormation's ` +
        `${TEMPLATE_BODY_LIMIT}-byte limit for an inline TemplateBody`);
    }

    this.stackSet = new cloudformation.CfnStackSet(this, 'Resource', {
      stackSetName: props.stackSetName ?? 'terraform-state-backend',
      description: 'Terraform s3 backend (state bucket and lock table) in every account and region (cdk-terraform-state-backend)',
      permissionModel: 'SERVICE_MANAGED',
      callAs: props.callAs ?? StackSetCallAs.SELF,
      autoDeployment: {
        enabled: true,
        retainStacksOnAccountRemoval: props.retainStacksOnAccountRemoval ?? true,
      },
      managedExecution: { Active: true },
      operationPreferences: {
        maxConcurrentPercentage: props.maxConcurrentPercentage ?? 25,
        failureTolerancePercentage: props.failureTolerancePercentage ?? 0,
        regionConcurrencyType: props.regionConcurrency ?? RegionConcurrency.PARALLEL,
      },
      stackInstancesGroup: [{
        deploymentTargets: { organizationalUnitIds: props.organizationalUnitIds },
        regions: props.regions,
      }],
      templateBody: this.templateBody,
    });
  }
}

/**
 * Synthesizes the backend stack in an app of its own (in a temporary folder, so
 * nothing of it reaches this app's cloud assembly) and returns its template.
 */
function backendTemplate(backend: TerraformStateBackendProps): Record<string, unknown> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'terraform-state-backend-stack-set-'));
  try {
    const app = new App({ outdir, analyticsReporting: false, stackTraces: false });
    const stack = new Stack(app, 'TerraformStateBackend', {
      synthesizer: new LegacyStackSynthesizer(),
      description: 'Terraform s3 backend: state bucket and lock table (cdk-terraform-state-backend StackSet)',
    });
    const stateKey = new CfnParameter(stack, 'StateKey', {
      type: 'String',
      default: backend.stateKey ?? 'terraform.tfstate',
      minLength: 1,
      maxLength: 1024,
      description: 'The state key written into the emitted backend block',
      // Terraform's rules for `key` (no leading or trailing "/", no "//"), and
      // nothing that would need escaping in the emitted HCL string.
      allowedPattern: '^(?!/)(?!.*//)(?!.*/$)(?!.*[$%]\\{)[^"\\\\\\p{Cntrl}]+$',
      constraintDescription: 'a Terraform state key: no leading or trailing "/", no "//", no quotes, backslashes, control characters, "${" or "%{"',
    });
    const expirationDays = new CfnParameter(stack, 'NoncurrentVersionExpirationDays', {
      type: 'Number',
      default: backend.noncurrentVersionExpiration?.toDays() ?? DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS,
      minValue: 1,
      description: 'Days after which an old version of state expires (the newest NoncurrentVersionsToRetain never do)',
    });
    const versionsToRetain = new CfnParameter(stack, 'NoncurrentVersionsToRetain', {
      type: 'Number',
      default: backend.noncurrentVersionsToRetain ?? DEFAULT_NONCURRENT_VERSIONS_TO_RETAIN,
      minValue: 1,
      maxValue: 100,
      description: 'Old versions of each state object that never expire',
    });
    new TerraformStateBackend(stack, 'Backend', {
      ...backend,
      stateKey: stateKey.valueAsString,
      noncurrentVersionExpiration: Duration.days(expirationDays.valueAsNumber),
      noncurrentVersionsToRetain: versionsToRetain.valueAsNumber,
    });
    return app.synth().getStackByName(stack.stackName).template;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function validateProps(props: TerraformStateBackendStackSetProps): string[] {
  const faults: string[] = [];
  if (props.organizationalUnitIds.length === 0) {
    faults.push('`organizationalUnitIds` must name at least one organizational unit');
  }
  for (const ou of props.organizationalUnitIds) {
    faults.push(...organizationalUnitIdFaults('organizationalUnitIds', ou));
  }
  faults.push(...repeatedValueFaults('organizationalUnitIds', 'an organizational unit', props.organizationalUnitIds));
  if (props.regions.length === 0) {
    faults.push('`regions` must name at least one region');
  }
  for (const region of props.regions) {
    faults.push(...regionFaults('regions', region));
  }
  faults.push(...repeatedValueFaults('regions', 'a region', props.regions));
  if (props.maxConcurrentPercentage !== undefined) {
    faults.push(...integerRangeFaults('maxConcurrentPercentage', props.maxConcurrentPercentage, 1, 100));
  }
  if (props.failureTolerancePercentage !== undefined) {
    faults.push(...integerRangeFaults('failureTolerancePercentage', props.failureTolerancePercentage, 0, 100));
  }
  const backend = props.backend ?? {};
  // These become parameter defaults; the backend inside only sees the parameters.
  if (backend.stateKey !== undefined) {
    faults.push(...stateKeyFaults('backend.stateKey', backend.stateKey));
  }
  if (backend.noncurrentVersionExpiration) {
    faults.push(...lifecycleDaysFaults('backend.noncurrentVersionExpiration', backend.noncurrentVersionExpiration));
  }
  if (backend.noncurrentVersionsToRetain !== undefined) {
    faults.push(...integerRangeFaults('backend.noncurrentVersionsToRetain', backend.noncurrentVersionsToRetain, 1, 100));
  }
  if (backend.bucketName !== undefined) {
    faults.push(`\`backend.bucketName\` is set to ${show(backend.bucketName)}, but bucket names are global: ` +
      'in a StackSet each account and region derives its own (terraform-state-<account>-<region>)');
  }
  if (backend.encryptionKey) {
    faults.push('`backend.encryptionKey` refers to a key of this app, which the accounts of the StackSet cannot use; ' +
      'use `encryption: StateEncryption.KMS` for a key per account and region');
  }
  if (backend.serverAccessLogsBucket) {
    faults.push('`backend.serverAccessLogsBucket` refers to a bucket of this app; each account gets its own log bucket');
  }
  if (backend.replication) {
    faults.push('`backend.replication` is not available in a StackSet: the replica stack must be deployed before each backend; ' +
      'replicate with per-account stacks (TerraformStateReplicaStack, then TerraformStateBackendStack with `replication`)');
  }
  return faults;
}
