import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, IConstruct } from 'constructs';
import { BackendConfig, BackendConfigOptions, renderBackendBlock, renderBackendConfigFile } from './backend-config';
import { BackendFacts, backendConfigOf } from './private/backend-facts';
import { StateGrants } from './state-grants';
import { LockingMode, StateEncryption } from './state-settings';

/**
 * A Terraform `s3` state backend: made in this app (`TerraformStateBackend`)
 * or imported (`TerraformStateBackend.fromBackendAttributes()`,
 * `TerraformStateBackend.fromDiscovery()`).
 */
export interface ITerraformStateBackend extends IConstruct {
  /**
   * The name of the state bucket (may be a token).
   */
  readonly bucketName: string;

  /**
   * The account the backend lives in (may be a token).
   */
  readonly account: string;

  /**
   * The region the backend lives in (may be a token).
   */
  readonly region: string;

  /**
   * How Terraform locks state.
   */
  readonly locking: LockingMode;

  /**
   * How state is encrypted at rest.
   */
  readonly encryption: StateEncryption;

  /**
   * The name of the lock table (may be a token); undefined without a table.
   */
  readonly lockTableName?: string;

  /**
   * The customer-managed key that encrypts state; undefined unless
   * `encryption` is `StateEncryption.KMS`.
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * The default state key of the emitted block.
   */
  readonly stateKey: string;

  /**
   * The workspace key prefix of the emitted block, when one was set.
   */
  readonly workspaceKeyPrefix?: string;

  /**
   * Terraform's permissions on this backend, key by key.
   */
  readonly grants: StateGrants;

  /**
   * The backend settings as data. Values may be tokens.
   *
   * @param options the state key and workspace key prefix of one Terraform
   * configuration, when it differs from the backend's
   */
  backendConfig(options?: BackendConfigOptions): BackendConfig;

  /**
   * The `terraform { backend "s3" { ... } }` block, exactly as `terraform fmt`
   * prints it.
   *
   * @param options the state key and workspace key prefix of one Terraform
   * configuration, when it differs from the backend's
   */
  renderBackendBlock(options?: BackendConfigOptions): string;

  /**
   * The partial backend configuration for
   * `terraform init -backend-config=backend.hcl`.
   *
   * @param options the state key and workspace key prefix of one Terraform
   * configuration, when it differs from the backend's
   */
  renderBackendConfigFile(options?: BackendConfigOptions): string;
}

/**
 * What a backend made in this app and an imported one share: the rendered
 * configuration, from the backend's names and settings.
 */
export abstract class TerraformStateBackendBase extends Construct implements ITerraformStateBackend {
  /** The name of the state bucket (may be a token). */
  public abstract readonly bucketName: string;
  /** The account the backend lives in (may be a token). */
  public abstract readonly account: string;
  /** The region the backend lives in (may be a token). */
  public abstract readonly region: string;
  /** How Terraform locks state. */
  public abstract readonly locking: LockingMode;
  /** How state is encrypted at rest. */
  public abstract readonly encryption: StateEncryption;
  /** The name of the lock table (may be a token); undefined without a table. */
  public abstract readonly lockTableName?: string;
  /** The customer-managed key that encrypts state; undefined unless `encryption` is `StateEncryption.KMS`. */
  public abstract readonly encryptionKey?: kms.IKey;
  /** The default state key of the emitted block. */
  public abstract readonly stateKey: string;
  /** The workspace key prefix of the emitted block, when one was set. */
  public abstract readonly workspaceKeyPrefix?: string;
  /** Terraform's permissions on this backend, key by key. */
  public abstract readonly grants: StateGrants;

  /**
   * The backend's names and settings, for the rendering and the grants.
   *
   * @internal
   */
  protected abstract readonly _facts?: BackendFacts;

  /**
   * The backend settings as data. Values may be tokens.
   *
   * @param options the state key and workspace key prefix of one Terraform
   * configuration, when it differs from the backend's
   */
  public backendConfig(options: BackendConfigOptions = {}): BackendConfig {
    if (this._facts === undefined) {
      throw new Error(`${this.node.path}: the backend's props are invalid (see the errors synthesis reports), so it has no configuration`);
    }
    return backendConfigOf(this._facts, options);
  }

  /**
   * The `terraform { backend "s3" { ... } }` block, exactly as `terraform fmt`
   * prints it. Unresolved values (such as the bucket name of an
   * environment-agnostic stack) resolve when the string is used in the stack,
   * for example in a `CfnOutput`.
   *
   * @param options the state key and workspace key prefix of one Terraform
   * configuration, when it differs from the backend's
   */
  public renderBackendBlock(options: BackendConfigOptions = {}): string {
    return renderBackendBlock(this.backendConfig(options));
  }

  /**
   * The partial backend configuration for
   * `terraform init -backend-config=backend.hcl`: the attributes of the block,
   * without the `terraform` and `backend` wrappers.
   *
   * @param options the state key and workspace key prefix of one Terraform
   * configuration, when it differs from the backend's
   */
  public renderBackendConfigFile(options: BackendConfigOptions = {}): string {
    return renderBackendConfigFile(this.backendConfig(options));
  }
}
