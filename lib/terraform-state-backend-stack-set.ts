import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Annotations, Aws } from 'aws-cdk-lib/core';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import { Construct } from 'constructs';
import { addBackendTemplateStack, synthesizeTemplate, templateApp } from './backend-template';
import { assertAwsCdkLibVersion } from './private/cdk-version';
import { resolveBackendSettings } from './private/defaults';
import { reportFaults, stackSetFaults } from './private/validate';
import { TerraformStateBackendOptions } from './terraform-state-backend';

/** CloudFormation's limit for a template passed inline (`TemplateBody`), in bytes of UTF-8. */
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
   * The backend's settings, the same in every account and region. Names
   * derive from the account and region, and nothing can refer to constructs
   * of this app, so the props that would (`bucketName`, `encryptionKey`,
   * `serverAccessLogsBucket`, `replication`) are not offered. `stateKey`,
   * `lockTableName`, `noncurrentVersionExpiration`,
   * `noncurrentVersionsToRetain`, `organizationId` and `discoveryPrefix`
   * become the defaults of the template's parameters (the bucket name's
   * default is the derived name).
   *
   * @default - the construct's defaults
   */
  readonly backend?: TerraformStateBackendOptions;

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
 * The backend's template is inlined (`TemplateBody`): no assets, no imports,
 * every default name derived from the account and region. It is the published
 * template of templates/ for the same settings, byte for byte. Per-account
 * choices are CloudFormation parameters (`BucketName`, `LockTableName`,
 * `StateKey`, `NoncurrentVersionExpirationDays`, `NoncurrentVersionsToRetain`,
 * `OrganizationId`, `DiscoveryPrefix`), which stack-instance parameter
 * overrides can set.
 */
export class TerraformStateBackendStackSet extends Construct {
  /**
   * The StackSet.
   */
  public readonly stackSet!: cloudformation.CfnStackSet;

  /**
   * The backend template the StackSet deploys (JSON text).
   */
  public readonly templateBody!: string;

  /**
   * @param scope the construct (a stack in the management or delegated administrator account)
   * @param id the StackSet's construct ID
   * @param props the targets, the backend's settings and the roll-out settings
   */
  constructor(scope: Construct, id: string, props: TerraformStateBackendStackSetProps) {
    super(scope, id);
    assertAwsCdkLibVersion();
    const backend = props.backend ?? {};
    if (reportFaults(this, stackSetFaults(props, resolveBackendSettings(backend, Aws.ACCOUNT_ID, Aws.REGION), Aws.REGION)) !== undefined) {
      return;
    }

    this.templateBody = this.backendTemplate(backend);
    const bytes = Buffer.byteLength(this.templateBody, 'utf8');
    if (bytes > TEMPLATE_BODY_LIMIT) {
      throw new Error(`${this.node.path}: the backend template is ${bytes} bytes (UTF-8), over CloudFormation's ` +
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

  /**
   * Synthesizes the backend stack in an app of its own (in a temporary folder,
   * so that nothing of it reaches this app's cloud assembly) and returns its
   * template's text. The inner app gets this app's context, feature flags
   * included, so the same props give the same resources as a
   * `TerraformStateBackendStack`; not the CDK CLI's `aws:cdk:*` switches, so
   * that it is the published template's text for the same settings. Its
   * warnings (and any info or error) are added to this construct.
   */
  private backendTemplate(backend: TerraformStateBackendOptions): string {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'terraform-state-backend-stack-set-'));
    try {
      const app = templateApp(outdir, this.node.getAllContext());
      const synthesized = synthesizeTemplate(addBackendTemplateStack(app, { backend }));
      for (const message of synthesized.messages) {
        this.surface(message.level, String(message.entry.data));
      }
      return synthesized.text;
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }

  /** Adds a message of the inner app to this construct, keeping a warning's acknowledgeable ID. */
  private surface(level: cxapi.SynthesisMessageLevel, text: string): void {
    const match = /^([^]*) \[ack: ([^\]]+)\]$/.exec(text);
    const [message, id] = match ? [match[1], match[2]] : [text, undefined];
    if (level === cxapi.SynthesisMessageLevel.WARNING) {
      Annotations.of(this).addWarningV2(id ?? 'cdk-terraform-state-backend:stackSetBackendWarning', message);
    } else if (level === cxapi.SynthesisMessageLevel.ERROR) {
      Annotations.of(this).addError(message);
    } else {
      Annotations.of(this).addInfo(message);
    }
  }
}
