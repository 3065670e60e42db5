import { Stack, Token, TokenComparison } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { bucketArn, keysArn, objectArn, parameterArn, tableArn } from './private/arns';
import { BackendFacts } from './private/backend-facts';
import {
  BUCKET_LIST_ACTIONS,
  DISCOVERY_READ_ACTIONS,
  KEY_LOCK_FILE_ACTIONS,
  KEY_READ_ACTIONS,
  KEY_READ_WRITE_ACTIONS,
  LOCK_FILE_ACTIONS,
  LOCK_ITEM_ACTIONS,
  LOCK_TABLE_READ_ACTIONS,
  LOCK_TABLE_READ_WRITE_ACTIONS,
  STATE_READ_ACTIONS,
  STATE_READ_WRITE_ACTIONS,
  WORKSPACE_DELETE_ACTIONS,
} from './private/perms';
import { acknowledgeOnPrincipalPolicies } from './private/nag';
import { principalReach } from './private/principal-reach';
import { LockingMode, StateEncryption } from './state-settings';
import { kmsKeyArnFaults, stateKeyFaults, throwIfFaults, workspaceKeyPrefixFaults } from './private/validate';

/**
 * Options for `StateGrants.readWrite()`, `StateGrants.plan()` and `StateGrants.read()`.
 */
export interface StateGrantOptions {
  /**
   * The state key of the Terraform configuration the grant is for, or an IAM
   * pattern of state keys such as `network/*`: no leading or trailing `/`, no
   * `//`. A pattern with `*` needs IAM wildcards, which cdk-nag reports
   * (AwsSolutions-IAM5); a plain key does not.
   *
   * @default - the backend's `stateKey`
   */
  readonly keyPattern?: string;

  /**
   * Also grant the state of non-default workspaces of the same key pattern,
   * `<workspaceKeyPrefix>/<workspace>/<keyPattern>` (any workspace). For
   * read-write, that includes `s3:DeleteObject` on those objects, which
   * `terraform workspace delete` needs (not on the default workspace's key).
   *
   * With an empty `workspaceKeyPrefix`, workspace state lives at
   * `<workspace>/<keyPattern>`, which a wildcard pattern can make overlap with
   * the default-workspace keys of other configurations.
   *
   * @default false
   */
  readonly workspaces?: boolean;

  /**
   * The workspace key prefix of the configuration the grant is for, when it
   * differs from the backend's (as with `renderBackendBlock({ workspaceKeyPrefix })`).
   *
   * @default - the backend's `workspaceKeyPrefix`
   */
  readonly workspaceKeyPrefix?: string;

  /**
   * Narrow `s3:ListBucket` with an `s3:prefix` condition to the granted state
   * keys (and `<workspaceKeyPrefix>/`, which Terraform lists to find
   * workspaces), as Terraform's documentation does.
   *
   * What it risks: Terraform reads state with `HeadObject` first and treats
   * only 404 Not Found as "no state yet". S3 answers 404 for a missing key only
   * to a caller that may list the bucket (otherwise 403 Forbidden), and that a
   * listing allowed only under an `s3:prefix` condition counts for that check
   * is not documented: a `HeadObject` request has no `s3:prefix`, and the IAM
   * policy simulator evaluates such a listing as denied. So the first
   * `terraform init` or `plan` on a new key or a new workspace may fail with
   * 403 on `HeadObject`. Use it only where the state objects always exist
   * before the grantee first runs.
   *
   * Without it, the grantee may list every key name in the bucket (names
   * only, not the state in them).
   *
   * @default false - `s3:ListBucket` on the whole bucket, so that a missing
   * state key answers 404
   */
  readonly listOnlyStateKeys?: boolean;

  /**
   * The ARN of the KMS key the backend made (`arn:<partition>:kms:<region>:<account>:key/<key id>`),
   * for a grantee in another stack than the backend's: its policy then names
   * exactly this key. Needed for a grantee of another account; read it after
   * the backend stack's first deploy, from its discovery parameter
   * `<discoveryPrefix>kms-key-arn` or with
   * `aws kms describe-key --key-id alias/<bucket name>`.
   *
   * Without it, another stack cannot name the key (its ARN would be a
   * cross-stack reference, an export that freezes the backend's stack, and an
   * alias ARN in `Resource` governs only the alias), so a grantee of the
   * backend's account gets the KMS actions on `key/*` of the backend's account
   * and region, narrowed by the condition `kms:ResourceAliases` to the key's
   * alias; cdk-nag's AwsSolutions-IAM5 finding on that wildcard is
   * acknowledged on the grantee's policy, with the reason. A grantee of
   * another account is refused without it: AWS documents
   * `kms:ResourceAliases` as a condition of IAM policies on key operations,
   * and shows it with keys of other accounts only in an example, without
   * saying that KMS evaluates it for a caller of another account.
   *
   * Not allowed for a backend without a customer key, or whose key was given
   * (`encryptionKey`, an import), nor for a grantee in the backend's own
   * stack: there the key's ARN is known.
   *
   * @default - in another stack, the key is named by its alias (a grantee of
   * another account is refused)
   */
  readonly encryptionKeyArn?: string;
}

/**
 * What Terraform needs of a state backend, granted key by key: for a
 * `TerraformStateBackend` made in this app and for one imported with
 * `TerraformStateBackend.fromBackendAttributes()` or `fromDiscovery()` alike.
 *
 * Every ARN is built from names (the bucket's, the table's, the account and
 * region), never from another stack's resource attributes, so a grant in a
 * pipeline stack makes no cross-stack reference that would freeze the
 * backend's stack. A grantee in another account also gets the statements in
 * the resource policies of a bucket, table and key made in this app (an
 * imported backend's policies belong to its own stack: there, the backend's
 * account must grant the other account itself).
 *
 * Get it from `ITerraformStateBackend.grants`.
 */
export class StateGrants {
  /**
   * @internal
   */
  public static _of(facts: BackendFacts): StateGrants {
    return new StateGrants(facts);
  }

  /**
   * The grants of a backend whose props are invalid: each throws `message`.
   *
   * @internal
   */
  public static _rejecting(message: string): StateGrants {
    return new StateGrants(undefined, message);
  }

  private readonly facts: BackendFacts;

  private constructor(facts: BackendFacts | undefined, private readonly rejected?: string) {
    this.facts = facts!;
  }

  private assertValid(): void {
    if (this.rejected !== undefined) {
      throw new Error(this.rejected);
    }
  }

  /**
   * Grants what Terraform needs to read, write and lock the state of one
   * Terraform configuration, exactly as Terraform documents it and nothing more:
   *
   * - `s3:ListBucket` on the bucket, so that a missing state key answers 404
   *   (with `listOnlyStateKeys`, narrowed by an `s3:prefix` condition to the
   *   state keys and, with workspaces or a custom prefix, `<workspaceKeyPrefix>/`);
   * - `s3:GetObject` and `s3:PutObject` on the state objects; with `workspaces`,
   *   `s3:DeleteObject` on the workspaces' state objects `<workspaceKeyPrefix>/<workspace>/<key>`,
   *   which `terraform workspace delete` deletes (never on the default
   *   workspace's key, which Terraform does not delete);
   * - with lock files, `s3:GetObject`, `s3:PutObject` and `s3:DeleteObject` on
   *   `<state key>.tflock` only;
   * - with the lock table, `dynamodb:DescribeTable`, `GetItem`, `PutItem` and
   *   `DeleteItem` on the table, narrowed by a `dynamodb:LeadingKeys` condition to
   *   the lock items `<bucket>/<state key>` and digest items `<bucket>/<state key>-md5`
   *   (`DeleteItem` releases a lock, and removes a deleted workspace's digest item);
   * - with a customer-managed key, `kms:Encrypt`, `kms:Decrypt` and
   *   `kms:GenerateDataKey` on it.
   *
   * @param grantee the principal, e.g. a CI role
   * @param options the key pattern, workspaces, and how narrow the listing is
   */
  public readWrite(grantee: iam.IGrantable, options: StateGrantOptions = {}): iam.Grant {
    this.assertValid();
    const facts = this.facts;
    const paths = this.grantedStatePaths(grantee, options);
    let grant = this.grantList(grantee, paths, options)
      .combine(this.grantObjects(grantee, STATE_READ_WRITE_ACTIONS, paths));
    if (options.workspaces) {
      // `terraform workspace delete` deletes the workspace's state object (a
      // delete marker: the versions stay) and its digest item, which the
      // lock-table statement below covers. Never the default workspace's key.
      grant = grant.combine(this.grantObjects(grantee, WORKSPACE_DELETE_ACTIONS, paths.slice(1)));
    }
    if (facts.locking !== LockingMode.DYNAMODB) {
      grant = grant.combine(this.grantObjects(grantee, LOCK_FILE_ACTIONS, paths.map((p) => `${p}.tflock`)));
    }
    if (facts.lockTable) {
      grant = grant.combine(this.grantItems(grantee, LOCK_TABLE_READ_WRITE_ACTIONS,
        paths.flatMap((p) => [`${facts.bucketName}/${p}`, `${facts.bucketName}/${p}-md5`])));
    }
    if (facts.encryptionKey) {
      grant = grant.combine(this.grantKey(grantee, KEY_READ_WRITE_ACTIONS, options));
    }
    return grant;
  }

  /**
   * Grants what `terraform_remote_state` and `terraform output` need to read the
   * state of one Terraform configuration: the listing (as for read-write),
   * `s3:GetObject` on the state objects, `dynamodb:GetItem` on their digest items
   * `<bucket>/<state key>-md5` only (with `dynamodb_table` set, Terraform checks
   * the state against its digest on every read, and warns when it cannot), and
   * `kms:Decrypt` with a customer-managed key.
   * No writes and no locks.
   *
   * @param grantee the principal, e.g. a role of a consuming configuration
   * @param options the key pattern, workspaces, and how narrow the listing is
   */
  public read(grantee: iam.IGrantable, options: StateGrantOptions = {}): iam.Grant {
    this.assertValid();
    const facts = this.facts;
    const paths = this.grantedStatePaths(grantee, options);
    let grant = this.grantList(grantee, paths, options)
      .combine(this.grantObjects(grantee, STATE_READ_ACTIONS, paths));
    if (facts.lockTable) {
      grant = grant.combine(this.grantItems(grantee, LOCK_TABLE_READ_ACTIONS, paths.map((p) => `${facts.bucketName}/${p}-md5`)));
    }
    if (facts.encryptionKey) {
      grant = grant.combine(this.grantKey(grantee, KEY_READ_ACTIONS, options));
    }
    return grant;
  }

  /**
   * Grants what `terraform plan` needs, with locking and without: read the state
   * of one Terraform configuration, take and release its lock, and nothing that
   * writes state. For a pull-request pipeline that plans with one role and
   * applies with another (`readWrite()`).
   *
   * - `s3:ListBucket` and `s3:GetObject` on the state objects, as for `read()`;
   * - with lock files, `s3:GetObject`, `s3:PutObject` and `s3:DeleteObject` on
   *   `<state key>.tflock` only;
   * - with the lock table, `dynamodb:DescribeTable`, `GetItem`, `PutItem` and
   *   `DeleteItem` on the lock items `<bucket>/<state key>` only, and
   *   `dynamodb:GetItem` on the digest items `<bucket>/<state key>-md5`
   *   (Terraform reads the digest with the state, and writes it only with state);
   * - with a customer-managed key, `kms:Decrypt`, and with lock files also
   *   `kms:GenerateDataKey` (S3 asks KMS for a data key to encrypt the lock
   *   file): the key cannot tell a lock file from state, so what keeps the state
   *   unwritten is that there is no `s3:PutObject` on it.
   *
   * What it cannot do: `terraform apply` (denied on the state's `PutObject`, or
   * on the digest's `PutItem`, after the plan: the lock is released);
   * `terraform workspace new`, and a run in a workspace that does not exist yet,
   * which write an empty state there; `terraform_remote_state` of such a
   * workspace likewise. `terraform force-unlock` works: releasing a lock needs
   * what taking it needs.
   *
   * @param grantee the principal, e.g. the role of a pull-request pipeline
   * @param options the key pattern, workspaces, and how narrow the listing is
   */
  public plan(grantee: iam.IGrantable, options: StateGrantOptions = {}): iam.Grant {
    this.assertValid();
    const facts = this.facts;
    const paths = this.grantedStatePaths(grantee, options);
    let grant = this.grantList(grantee, paths, options)
      .combine(this.grantObjects(grantee, STATE_READ_ACTIONS, paths));
    if (facts.locking !== LockingMode.DYNAMODB) {
      grant = grant.combine(this.grantObjects(grantee, LOCK_FILE_ACTIONS, paths.map((p) => `${p}.tflock`)));
    }
    if (facts.lockTable) {
      // Two statements: the lock items may be written, the digest items only read.
      grant = grant
        .combine(this.grantItems(grantee, LOCK_ITEM_ACTIONS, paths.map((p) => `${facts.bucketName}/${p}`)))
        .combine(this.grantItems(grantee, LOCK_TABLE_READ_ACTIONS, paths.map((p) => `${facts.bucketName}/${p}-md5`)));
    }
    if (facts.encryptionKey) {
      grant = grant.combine(this.grantKey(grantee, facts.locking === LockingMode.DYNAMODB ? KEY_READ_ACTIONS : KEY_LOCK_FILE_ACTIONS, options));
    }
    return grant;
  }

  /**
   * Grants `ssm:GetParameter` and `ssm:GetParameters` on the discovery
   * parameters, for pipelines that read the backend's settings from SSM.
   * Standard SSM parameters cannot be read from another account: a grantee
   * there is refused.
   *
   * @param grantee the principal, e.g. a CI role
   */
  public discoveryRead(grantee: iam.IGrantable): iam.Grant {
    this.assertValid();
    const facts = this.facts;
    if (facts.discoveryParameterNames.length === 0) {
      throw new Error(`${facts.scope.node.path}: discoveryRead() needs the discovery parameters: \`discovery\` is false, ` +
        'or the imported backend was given no `discoveryPrefix`');
    }
    const faults: string[] = [];
    const outside = this.granteeOutside(grantee, faults);
    if (outside !== undefined) {
      faults.push(`the grantee ${outside}, but standard SSM parameters cannot be read from another account; ` +
        'let its pipeline assume a role of this account for the read');
    }
    throwIfFaults(`${facts.scope.node.path} grantDiscoveryRead()`, faults);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: DISCOVERY_READ_ACTIONS,
      resourceArns: facts.discoveryParameterNames.map((name) => parameterArn(this.stack, name, facts)),
    });
  }

  private get stack(): Stack {
    return Stack.of(this.facts.scope);
  }

  /**
   * How far a grant to `grantee` reaches beyond the backend's account (see
   * `principalReach`); a `*` principal without conditions is a fault, added to
   * `faults`.
   */
  private granteeOutside(grantee: iam.IGrantable, faults: string[]): string | undefined {
    const reach = principalReach(this.stack, grantee.grantPrincipal, this.facts.account);
    if (reach.anyone) {
      faults.push('the grantee is a `*` principal without conditions (AnyPrincipal, StarPrincipal or ArnPrincipal(\'*\')): ' +
        'that would open Terraform state to anyone, and S3 Block Public Access rejects such a bucket policy at deploy time; ' +
        'grant roles, accounts or an organization instead');
    }
    return reach.outside;
  }

  /** The state object keys a grant covers: the pattern, then its workspace path when asked. */
  private grantedStatePaths(grantee: iam.IGrantable, options: StateGrantOptions): string[] {
    const key = options.keyPattern ?? this.facts.stateKey;
    const faults = stateKeyFaults('keyPattern', key);
    if (options.workspaceKeyPrefix !== undefined) {
      faults.push(...workspaceKeyPrefixFaults('workspaceKeyPrefix', options.workspaceKeyPrefix));
    }
    const outside = this.granteeOutside(grantee, faults);
    if (outside !== undefined && this.facts.encryption === StateEncryption.KMS_MANAGED) {
      faults.push(`the grantee ${outside}, but \`encryption\` is KMS_MANAGED: the aws/s3 key cannot be used ` +
        'from another account; use StateEncryption.KMS or S3_MANAGED for cross-account access');
    }
    faults.push(...this.keyArnFaults(grantee, options, outside));
    throwIfFaults(`${this.facts.scope.node.path} grant`, faults);
    return options.workspaces ? [key, `${this.workspacePrefixPath(options)}*/${key}`] : [key];
  }

  /** `<workspaceKeyPrefix>/`, or nothing for an empty prefix (Terraform then lists the whole bucket). */
  private workspacePrefixPath(options: StateGrantOptions): string {
    const prefix = options.workspaceKeyPrefix ?? this.facts.workspaceKeyPrefix ?? 'env:';
    return prefix === '' ? '' : `${prefix}/`;
  }

  /**
   * `s3:ListBucket` on the bucket. Unconditioned by default: S3 answers
   * `HeadObject` on a missing key with 404 only to a caller that may list the
   * bucket, and a listing allowed only under an `s3:prefix` condition is not
   * documented to count (the request has no `s3:prefix`), so Terraform's first
   * read of a new key could get 403, which it treats as a failure, not as "no
   * state yet".
   */
  private grantList(grantee: iam.IGrantable, paths: string[], options: StateGrantOptions): iam.Grant {
    let conditions: Record<string, Record<string, unknown>> | undefined;
    if (options.listOnlyStateKeys) {
      // Terraform lists `<workspaceKeyPrefix>/` on every run to find workspaces; a
      // denied listing is tolerated only for the default prefix `env:`.
      const prefix = options.workspaceKeyPrefix ?? this.facts.workspaceKeyPrefix;
      const listsWorkspaces = options.workspaces || (prefix !== undefined && prefix !== 'env:');
      conditions = { StringLike: { 's3:prefix': listsWorkspaces ? [...paths, this.workspacePrefixPath(options)] : paths } };
    }
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: BUCKET_LIST_ACTIONS,
      resourceArns: [bucketArn(this.stack, this.facts.bucketName)],
      resource: this.facts.bucket,
      conditions,
    });
  }

  private grantObjects(grantee: iam.IGrantable, actions: string[], keys: string[]): iam.Grant {
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions,
      resourceArns: keys.map((k) => objectArn(this.stack, this.facts.bucketName, k)),
      resource: this.facts.bucket,
    });
  }

  private grantItems(grantee: iam.IGrantable, actions: string[], leadingKeys: string[]): iam.Grant {
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions,
      // From the name, not `tableArn` (see arns.ts); besides, a cross-account grant
      // lands in the table's own resource policy, which cannot refer to the table's attributes.
      resourceArns: [tableArn(this.stack, this.facts.lockTableName!, this.facts)],
      resource: this.facts.lockTable!,
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': leadingKeys } },
    });
  }

  /** Whether a grant to `grantee` names the key from another stack than the key's. */
  private inOtherStackThanKey(grantee: iam.IGrantable): boolean {
    const principal = grantee.grantPrincipal;
    return this.facts.encryptionKey !== undefined && Construct.isConstruct(principal) && Stack.of(principal) !== Stack.of(this.facts.encryptionKey);
  }

  /**
   * Faults of `options.encryptionKeyArn`, and its absence where a grant needs it.
   *
   * @param outside how the grantee reaches beyond the backend's account (see `principalReach`)
   */
  private keyArnFaults(grantee: iam.IGrantable, options: StateGrantOptions, outside: string | undefined): string[] {
    const { encryptionKey: key, keyAlias } = this.facts;
    const arn = options.encryptionKeyArn;
    const otherStack = this.inOtherStackThanKey(grantee);
    if (arn !== undefined) {
      if (key === undefined) {
        return [`\`encryptionKeyArn\` is set, but the backend has no customer-managed key (\`encryption\` is ${this.facts.encryption}); drop it`];
      }
      if (keyAlias === undefined) {
        return ['`encryptionKeyArn` is set, but the backend\'s key was given (`encryptionKey`, or an import), and grants already name its ARN; drop it'];
      }
      if (!otherStack) {
        return ['`encryptionKeyArn` is set, but the grantee is in the backend\'s own stack, where grants name the key\'s ARN; drop it'];
      }
      return kmsKeyArnFaults('encryptionKeyArn', arn, this.facts.account, this.facts.region);
    }
    if (keyAlias !== undefined && otherStack && outside !== undefined) {
      // AWS, "AWS KMS condition keys", kms:ResourceAliases: "Policy type: IAM
      // policies only"; its one cross-account example says "the following IAM
      // policy statement allows the principal to call the GenerateDataKey
      // operation on any KMS key in the specified AWS account that is
      // associated with the finance-key alias. (The key policies of the
      // affected KMS keys must also allow the principal's account to use them
      // for this operation.)" with Resource key/* of two accounts: no statement
      // that KMS evaluates the key for a caller of another account.
      return [`the grantee ${outside}, in another stack than the backend, whose KMS key the backend made: that stack can name the key ` +
        'only by its alias (`kms:ResourceAliases` on `key/*`), which AWS does not document for a caller of another account. ' +
        'Give the key\'s ARN as `encryptionKeyArn` (after the backend stack\'s first deploy, from its discovery parameter ' +
        '`<discoveryPrefix>kms-key-arn`, or `aws kms describe-key --key-id alias/<bucket name>`), or give the backend your own key ' +
        'as `encryptionKey`'];
    }
    return [];
  }

  /**
   * Grants the use of the customer key. Within the key's stack, the key's own
   * `grant()`; a given or imported key elsewhere, on its ARN. A key made by the
   * backend, granted to a principal in another stack, is named by
   * `options.encryptionKeyArn`, or else by its alias (`kms:ResourceAliases` on
   * the keys of the backend's account and region, see `StateGrantOptions`),
   * with cdk-nag's AwsSolutions-IAM5 finding on that wildcard acknowledged on
   * the principal's policy: the alias is the backend stack's and points at this
   * key alone. A principal of another account also gets the statement in the
   * key policy, which applies to this key only.
   */
  private grantKey(grantee: iam.IGrantable, actions: string[], options: StateGrantOptions): iam.Grant {
    const { encryptionKey: key, keyAlias } = this.facts;
    const principal = grantee.grantPrincipal;
    if (!this.inOtherStackThanKey(grantee)) {
      return key!.grant(grantee, ...actions);
    }
    if (keyAlias === undefined) {
      // A given or imported key, granted in another stack: on its ARN (the
      // key's own `grant()` would judge the account by the key's stack, and
      // put `*` in a cross-account principal's policy).
      return iam.Grant.addToPrincipalOrResource({ grantee, actions, resourceArns: [key!.keyArn], resourceSelfArns: ['*'], resource: key! });
    }
    const keys = keysArn(this.stack, this.facts);
    const grant = options.encryptionKeyArn !== undefined
      ? iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [options.encryptionKeyArn] })
      : iam.Grant.addToPrincipal({
          grantee,
          actions,
          resourceArns: [keys],
          conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': keyAlias } },
        });
    if (options.encryptionKeyArn === undefined && grant.success && Construct.isConstruct(principal)) {
      acknowledgeOnPrincipalPolicies(principal, [{
        id: 'AwsSolutions-IAM5',
        reason: `The backend's KMS key is named by its alias (kms:ResourceAliases = ${keyAlias}), which only that key carries: ` +
          'its ID is not known to another stack without a cross-stack reference.',
        appliesTo: [keys],
      }]);
    }
    const sameAccount = principal.principalAccount !== undefined &&
      [TokenComparison.SAME, TokenComparison.BOTH_UNRESOLVED].includes(Token.compareStrings(this.facts.account, principal.principalAccount));
    if (grant.success && sameAccount) {
      return grant;
    }
    return grant.combine(iam.Grant.addStatementToResourcePolicy({
      grantee,
      actions,
      resourceArns: ['*'],
      resource: key!,
      statement: new iam.PolicyStatement({ principals: [principal], actions, resources: ['*'] }),
    }));
  }
}
