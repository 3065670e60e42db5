/**
 * Every grant, evaluated by an IAM policy evaluator (@cloud-copilot/iam-simulate) on
 * the requests the Terraform binary really sent (test/fixtures/terraform-requests/,
 * recorded and kept fresh by test/e2e/terraform-requests.e2e.test.ts), against the
 * policies of the synthesized templates: the grantee's identity policy, the state
 * bucket's policy, the lock table's resource policy and the KMS key policy.
 *
 * The matrix: grant form (`readWrite`, `read`, `plan`, `discoveryRead`) × locking mode ×
 * encryption × where the grantee is (the backend's account, another account, another
 * account of the backend's organization). In each cell, every recorded request of the
 * operations the grant is for must be allowed, and the requests the grant must not
 * allow are denied for the reason the README gives. A cell the grants refuse at synth
 * time (`KMS_MANAGED` or `discoveryRead` from another account) must be refused. A
 * grant of the key the backend made, to another account, names the key by its ARN
 * (`encryptionKeyArn`), and is refused without it.
 */
import { App, Stack } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { LockingMode, StateEncryption, TerraformStateBackend } from '../lib';
import { resolveValue } from './support/cfn-eval';
import {
  awsManagedS3KeyArn, backendPolicies, BackendPolicies, cfnValues, customerKeyArn, Decision, evaluate, Grantee, identityPolicies, PolicyDocument,
  RequestConditions,
} from './support/grant-evaluator';
import type { RecordedRequest } from './support/request-recorder';
import { FixtureNames, iamRequestsOf, IamRequest, readFixture, RequestFixture, RequestPlace, substitute } from './support/terraform-requests';

const BACKEND_ACCOUNT = '111111111111';
const OTHER_ACCOUNT = '222222222222';
const ORGANIZATION = 'o-a1b2c3d4e5';
const OUTSIDER_ORGANIZATION = 'o-z9y8x7w6v5';
/** The fixtures were recorded in this region; the backend is evaluated there. */
const REGION = 'us-east-1';
const TABLE = 'terraform-lock';

const LOCKINGS = [LockingMode.DYNAMODB, LockingMode.S3_LOCKFILE, LockingMode.DYNAMODB_AND_S3_LOCKFILE];
const ENCRYPTIONS = [StateEncryption.S3_MANAGED, StateEncryption.KMS, StateEncryption.KMS_MANAGED];
type Reach = 'the backend\'s account' | 'another account' | 'another account of the organization';
const REACHES: Reach[] = ['the backend\'s account', 'another account', 'another account of the organization'];
type Form = 'readWrite' | 'read' | 'plan' | 'discoveryRead';
const FORMS: Form[] = ['readWrite', 'read', 'plan', 'discoveryRead'];

/** The operations each grant is for: every recorded request of these must be allowed. */
const OPERATIONS: Record<Form, string[]> = {
  readWrite: ['init', 'plan, no state yet', 'apply, no state yet', 'plan', 'plan -lock=false', 'apply', 'output', 'terraform_remote_state',
    'force-unlock', 'workspace new', 'workspace select', 'workspace delete'],
  plan: ['init', 'plan, no state yet', 'plan', 'plan -lock=false', 'output', 'terraform_remote_state', 'force-unlock', 'workspace select'],
  read: ['init', 'plan -lock=false', 'output', 'terraform_remote_state', 'workspace select'],
  discoveryRead: ['aws ssm get-parameter', 'aws ssm get-parameters'],
};

const ROLE_NAMES: Record<Form, string> = { readWrite: 'tf-apply', read: 'tf-read', plan: 'tf-plan', discoveryRead: 'tf-discovery' };

/** One backend stack and one grantee stack with a role per grant form, synthesized and read. */
interface Cell {
  readonly policies: BackendPolicies;
  readonly names: FixtureNames;
  readonly place: RequestPlace;
  /** The grantee of each form, or why the grant refused it. */
  readonly grantees: Record<Form, Grantee | Error>;
  /** Where the grant needs `encryptionKeyArn` (the backend's key, another account): the refusal of the same grant without it. */
  readonly withoutKeyArn: Partial<Record<Form, Error | undefined>>;
  /** The key ARN the grants were given, where they were. */
  readonly encryptionKeyArn?: string;
}

function build(locking: LockingMode, encryption: StateEncryption, reach: Reach): Cell {
  const app = new App();
  const backendStack = new Stack(app, 'Backend', { env: { account: BACKEND_ACCOUNT, region: REGION } });
  const backend = new TerraformStateBackend(backendStack, 'State', {
    locking, encryption, organizationId: reach === 'another account of the organization' ? ORGANIZATION : undefined,
  });
  const granteeAccount = reach === 'the backend\'s account' ? BACKEND_ACCOUNT : OTHER_ACCOUNT;
  const pipeline = new Stack(app, 'Pipeline', { env: { account: granteeAccount, region: REGION } });
  // The backend's own key, granted to another account: the grant takes its ARN (known after the backend's first deploy;
  // here the one the evaluation gives the key), since KMS is not documented to evaluate its alias for another account.
  const encryptionKeyArn = encryption === StateEncryption.KMS && granteeAccount !== BACKEND_ACCOUNT
    ? customerKeyArn(backendStack.getLogicalId(backend.encryptionKey!.node.defaultChild as kms.CfnKey), BACKEND_ACCOUNT, REGION) : undefined;
  const refusals: Partial<Record<Form, Error>> = {};
  const withoutKeyArn: Partial<Record<Form, Error | undefined>> = {};
  const refusalOf = (grant: () => void): Error | undefined => {
    try {
      grant();
      return undefined;
    } catch (e) {
      return e as Error;
    }
  };
  for (const form of FORMS) {
    const role = new iam.Role(pipeline, form, { roleName: ROLE_NAMES[form], assumedBy: new iam.AccountRootPrincipal() });
    if (form === 'discoveryRead') {
      refusals[form] = refusalOf(() => backend.grants.discoveryRead(role));
      continue;
    }
    if (encryptionKeyArn !== undefined) {
      // Without the ARN, on a role of its own (a refused grant adds nothing, but this role's policy is not evaluated).
      const probe = new iam.Role(pipeline, `${form}WithoutKeyArn`, { assumedBy: new iam.AccountRootPrincipal() });
      withoutKeyArn[form] = refusalOf(() => backend.grants[form](probe, { workspaces: true }));
    }
    refusals[form] = refusalOf(() => backend.grants[form](role, { workspaces: true, encryptionKeyArn }));
  }
  const assembly = app.synth();
  const backendTemplate = assembly.getStackByName('Backend').template;
  const pipelineTemplate = assembly.getStackByName('Pipeline').template;
  const values = cfnValues(backendTemplate, BACKEND_ACCOUNT, REGION);
  const bucket = resolveValue(backendStack.resolve(backend.bucketName), values) as string;
  const table = locking === LockingMode.S3_LOCKFILE ? undefined : TABLE;
  const policies = backendPolicies(backendTemplate, BACKEND_ACCOUNT, REGION, bucket, table);
  const keyArn = encryption === StateEncryption.KMS ? resolveValue(backendStack.resolve(backend.encryptionKey!.keyArn), values) as string : undefined;
  const grantees = Object.fromEntries(FORMS.map((form) => [form, refusals[form] ?? {
    account: granteeAccount,
    roleName: ROLE_NAMES[form],
    identityPolicies: identityPolicies(pipelineTemplate, granteeAccount, REGION, ROLE_NAMES[form]),
    organizationId: reach === 'another account of the organization' ? ORGANIZATION : undefined,
  }])) as Record<Form, Grantee | Error>;
  return {
    policies,
    names: { bucket, table, keyArn, account: BACKEND_ACCOUNT },
    place: { region: REGION, account: BACKEND_ACCOUNT, awsManagedS3KeyArn: awsManagedS3KeyArn(BACKEND_ACCOUNT, REGION) },
    grantees,
    withoutKeyArn,
    encryptionKeyArn,
  };
}

/** A fixture with the cell's names in it. */
function fixtureFor(locking: string, encryption: string, names: FixtureNames): RequestFixture {
  return substitute(readFixture(locking, encryption), names, false);
}

/** Decisions, cached: the fixtures repeat requests (every run lists the bucket). */
const decisions = new Map<string, Promise<Decision>>();
const granteeIds = new Map<Grantee, number>();
function decide(request: IamRequest, grantee: Grantee, cell: Cell, conditions: RequestConditions = {}): Promise<Decision> {
  if (!granteeIds.has(grantee)) granteeIds.set(grantee, granteeIds.size);
  // A grantee belongs to one cell: its number stands for both.
  const key = JSON.stringify([request, granteeIds.get(grantee), conditions]);
  if (!decisions.has(key)) decisions.set(key, evaluate(request, grantee, cell.policies, conditions));
  return decisions.get(key)!;
}

/** An identity policy that allows every S3 action: what only the boundary may then deny. */
const ALL_OF_S3: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };

/**
 * The bucket boundary's split (README, "Organization boundary"): outside the
 * organization, the administration of the bucket (here `s3:PutBucketPolicy`,
 * `s3:GetBucketPolicy`, `s3:PutLifecycleConfiguration`) is denied by
 * `DenyBucketAdministrationOutsideOrganizationAndAccount` to a principal of
 * another account, but not to one of the bucket's own account (the
 * CloudFormation role after a move to another organization), which the
 * boundary still denies every object request by `DenyOutsideOrganization`.
 */
async function boundaryOnAdministration(cell: Cell) {
  const bucketArn = `arn:aws:s3:::${cell.names.bucket}`;
  const outsider = (account: string): Grantee => ({
    account, roleName: 'cfn-exec', identityPolicies: [ALL_OF_S3], organizationId: OUTSIDER_ORGANIZATION,
  });
  const cases: Array<{ who: Grantee; request: IamRequest; result: Decision['result']; denying: string[] }> = [];
  for (const action of ['s3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:PutLifecycleConfiguration']) {
    const request = { action, resource: bucketArn, context: {} };
    cases.push(
      { who: outsider(OTHER_ACCOUNT), request, result: 'ExplicitlyDenied', denying: ['DenyBucketAdministrationOutsideOrganizationAndAccount'] },
      { who: outsider(BACKEND_ACCOUNT), request, result: 'Allowed', denying: [] },
    );
  }
  for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
    cases.push({
      who: outsider(BACKEND_ACCOUNT), request: { action, resource: objectArn(cell, 'terraform.tfstate'), context: {} },
      result: 'ExplicitlyDenied', denying: ['DenyOutsideOrganization'],
    });
  }
  cases.push({
    who: outsider(BACKEND_ACCOUNT), request: { action: 's3:ListBucket', resource: bucketArn, context: {} },
    result: 'ExplicitlyDenied', denying: ['DenyOutsideOrganization'],
  });
  for (const c of cases) {
    const decision = await evaluate(c.request, c.who, cell.policies);
    expect({ account: c.who.account, action: c.request.action, result: decision.result, denying: decision.denyingStatements })
      .toEqual({ account: c.who.account, action: c.request.action, result: c.result, denying: c.denying });
  }
  return cases;
}

/**
 * History protection spares lock files only (`tfstate-ops prune-locks`): a role of the
 * backend's account granted `s3:DeleteObjectVersion` on every object may delete a
 * version of any `.tflock` (in any prefix), and of nothing else; the named
 * `stateHistoryAdmins` may delete any version.
 */
describe('DenyStateHistoryDeletion spares the versions of lock files only', () => {
  const pruner = (roleName: string): Grantee => ({
    account: BACKEND_ACCOUNT, roleName,
    identityPolicies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:DeleteObjectVersion', Resource: 'arn:aws:s3:::*/*' }] }],
  });
  const cases: Array<[string, Decision['result'], string[]]> = [
    ['terraform.tfstate.tflock', 'Allowed', []],
    ['env:/staging/terraform.tfstate.tflock', 'Allowed', []],
    ['team/a/network.tfstate.tflock', 'Allowed', []],
    ['terraform.tfstate', 'ExplicitlyDenied', ['DenyStateHistoryDeletion']],
    ['env:/staging/terraform.tfstate', 'ExplicitlyDenied', ['DenyStateHistoryDeletion']],
    ['terraform.tfstate.tflock.backup', 'ExplicitlyDenied', ['DenyStateHistoryDeletion']],
    ['tflock', 'ExplicitlyDenied', ['DenyStateHistoryDeletion']],
  ];
  test.each(LOCKINGS)('%s', async (locking) => {
    const app = new App();
    const stack = new Stack(app, 'Backend', { env: { account: BACKEND_ACCOUNT, region: REGION } });
    const backend = new TerraformStateBackend(stack, 'State', { locking, stateHistoryAdmins: [`arn:aws:iam::${BACKEND_ACCOUNT}:role/state-admin`] });
    const template = app.synth().getStackByName('Backend').template;
    const bucket = resolveValue(stack.resolve(backend.bucketName), cfnValues(template, BACKEND_ACCOUNT, REGION)) as string;
    const policies = backendPolicies(template, BACKEND_ACCOUNT, REGION, bucket, locking === LockingMode.S3_LOCKFILE ? undefined : TABLE);
    for (const [key, result, denying] of cases) {
      const request = { action: 's3:DeleteObjectVersion', resource: `arn:aws:s3:::${bucket}/${key}`, context: {} };
      for (const [who, expected] of [[pruner('tfstate-ops-prune'), { result, denying }], [pruner('state-admin'), { result: 'Allowed', denying: [] }]] as const) {
        const decision = await evaluate(request, who, policies);
        expect({ key, role: who.roleName, result: decision.result, denying: decision.denyingStatements })
          .toEqual({ key, role: who.roleName, ...expected });
      }
    }
  });
});

/** The matrix's counts, for the last test. */
const counts = { cells: 0, refusedCells: 0, keyArnRefusals: 0, allowed: 0, denied: 0 };

/** A state write: an object write or delete that is not a lock file, or a digest item write. */
function isStateWrite(r: RecordedRequest): boolean {
  if (r.service === 's3') return ['PUT', 'POST', 'DELETE'].includes(r.method) && !r.path.endsWith('.tflock') && r.path.split('/').length > 2;
  if (r.service === 'dynamodb') {
    const body = r.body as { Key?: { LockID?: { S?: string } }; Item?: { LockID?: { S?: string } } } | undefined;
    const id = body?.Key?.LockID?.S ?? body?.Item?.LockID?.S ?? '';
    return /\.(PutItem|DeleteItem)$/.test(r.headers['x-amz-target'] ?? '') && id.endsWith('-md5');
  }
  return false;
}

/** Each IAM request of each recorded request of `operations`, with its decision. */
async function decideAll(fixture: RequestFixture, operations: readonly string[], grantee: Grantee, cell: Cell, conditions?: RequestConditions) {
  const out: Array<{ operation: string; recorded: RecordedRequest; request: IamRequest; decision: Decision }> = [];
  for (const operation of operations) {
    const o = fixture.operations.find((x) => x.name === operation);
    if (!o) throw new Error(`no operation "${operation}" in the fixture`);
    for (const recorded of o.requests) {
      for (const request of iamRequestsOf(recorded, cell.place)) {
        out.push({ operation, recorded, request, decision: await decide(request, grantee, cell, conditions) });
      }
    }
  }
  return out;
}

/** What a failed expectation shows: the operation, the request and how it was decided. */
function shown(d: { operation: string; request: IamRequest; decision: Decision }) {
  const { operation, request, decision } = d;
  return { operation, action: request.action, resource: request.resource, result: decision.result, denying: decision.denyingStatements };
}

const objectArn = (cell: Cell, key: string) => `arn:aws:s3:::${cell.names.bucket}/${key}`;
const tableArn = (cell: Cell) => `arn:aws:dynamodb:${REGION}:${BACKEND_ACCOUNT}:table/${cell.names.table}`;

describe.each(LOCKINGS)('%s', (locking) => {
  describe.each(ENCRYPTIONS)('%s', (encryption) => {
    test.each(REACHES)('grantee in %s: every grant allows the requests Terraform makes for it, and denies the others', async (reach) => {
      const cell = build(locking, encryption, reach);
      const fixture = fixtureFor(locking, encryption, cell.names);
      const discovery = fixtureFor('DISCOVERY', 'ANY', cell.names);
      for (const form of FORMS) {
        counts.cells++;
        const grantee = cell.grantees[form];
        const elsewhere = reach !== 'the backend\'s account';
        const refused = elsewhere && (form === 'discoveryRead' || encryption === StateEncryption.KMS_MANAGED);
        if (refused) {
          // The grants refuse what cannot work, at synth time; the message names why.
          expect({ form, refused: grantee instanceof Error }).toEqual({ form, refused: true });
          expect((grantee as Error).message).toMatch(form === 'discoveryRead'
            ? /standard SSM parameters cannot be read from another account/
            : /`encryption` is KMS_MANAGED: the aws\/s3 key cannot be used from another account/);
          counts.refusedCells++;
          continue;
        }
        if (grantee instanceof Error) throw grantee;
        if (cell.encryptionKeyArn !== undefined) {
          // The ARN given is the key's: the one the evaluation finds in the backend's template.
          expect(cell.encryptionKeyArn).toBe(cell.names.keyArn);
          expect({ form, refused: cell.withoutKeyArn[form]?.message }).toEqual({
            form, refused: expect.stringContaining('Give the key\'s ARN as `encryptionKeyArn`'),
          });
          counts.keyArnRefusals++;
        } else {
          expect({ form, refused: cell.withoutKeyArn[form] }).toEqual({ form, refused: undefined });
        }

        // 1. Every request of the operations the grant is for is allowed.
        const allowedOps = await decideAll(form === 'discoveryRead' ? discovery : fixture, OPERATIONS[form], grantee, cell);
        expect(allowedOps.filter((d) => d.decision.result !== 'Allowed').map(shown)).toEqual([]);
        // The evaluator judged every condition key the mapping gave it (it leaves out keys that do not apply to an action).
        expect([...new Set(allowedOps.flatMap((d) => d.decision.ignoredContextKeys))]).toEqual([]);
        counts.allowed += allowedOps.length;
        if (form === 'discoveryRead') {
          // `tfstate-ops --discovery` asks for all five names at once; the grant names only the parameters this
          // backend publishes, so the others (`kms-key-arn` without a customer key, `lock-table` without a table) are denied.
          const cli = await decideAll(discovery, ['tfstate-ops --discovery'], grantee, cell);
          const unpublished = [...(encryption === StateEncryption.KMS ? [] : ['kms-key-arn']), ...(cell.names.table ? [] : ['lock-table'])];
          expect(cli.filter((d) => d.decision.result !== 'Allowed').map((d) => d.request.resource.split('/').pop()).sort()).toEqual(unpublished.sort());
          continue;
        }

        // 2. The plan grant's apply and workspace changes: everything but the state write is allowed, the state write is denied.
        if (form === 'plan') {
          const writes = await decideAll(fixture, ['apply, no state yet', 'apply', 'workspace new', 'workspace delete'], grantee, cell);
          // The key's use S3 makes for a state write is not what stops it (with lock files the grant may encrypt one,
          // and aws/s3 serves anyone in the account): the state's own S3 or DynamoDB request is the one denied.
          for (const d of writes.filter((x) => !x.request.viaS3)) {
            const stateWrite = isStateWrite(d.recorded);
            expect({ ...shown(d), stateWrite }).toEqual({ ...shown(d), stateWrite, result: stateWrite ? 'ImplicitlyDenied' : 'Allowed', denying: [] });
          }
          expect(writes.filter((d) => isStateWrite(d.recorded) && d.decision.result !== 'Allowed').length).toBeGreaterThan(0);
          counts.denied += writes.filter((d) => d.decision.result !== 'Allowed').length;
          counts.allowed += writes.filter((d) => d.decision.result === 'Allowed').length;
        }

        // 3. The requests every grant must deny, each for the reason the README gives.
        const denials: Array<{ why: string; request: IamRequest; conditions?: RequestConditions; result: Decision['result']; denying: string[] }> = [];
        const stateWrites = fixture.operations.find((o) => o.name === 'apply')!.requests.filter(isStateWrite);
        if (form !== 'readWrite') {
          for (const r of stateWrites) {
            for (const request of iamRequestsOf(r, cell.place).filter((q) => !q.viaS3)) {
              denials.push({ why: `a state write with ${form}`, request, result: 'ImplicitlyDenied', denying: [] });
            }
          }
        }
        const other = 'other/terraform.tfstate';
        denials.push(
          { why: 'another key (read)', request: { action: 's3:GetObject', resource: objectArn(cell, other), context: {} }, result: 'ImplicitlyDenied', denying: [] },
          { why: 'another key (write)', request: { action: 's3:PutObject', resource: objectArn(cell, other), context: {} }, result: 'ImplicitlyDenied', denying: [] },
        );
        if (locking !== LockingMode.DYNAMODB) {
          denials.push({ why: 'another key\'s lock file', request: { action: 's3:PutObject', resource: objectArn(cell, `${other}.tflock`), context: {} },
            result: 'ImplicitlyDenied', denying: [] });
        }
        if (cell.names.table) {
          denials.push({
            why: 'another key\'s lock item', result: 'ImplicitlyDenied', denying: [],
            request: { action: 'dynamodb:PutItem', resource: tableArn(cell), context: { 'dynamodb:LeadingKeys': [`${cell.names.bucket}/${other}`] } },
          });
        }
        // History protection: nobody but the named admins deletes a version (README, Data protection).
        denials.push({ why: 'DeleteObjectVersion', request: { action: 's3:DeleteObjectVersion', resource: objectArn(cell, 'terraform.tfstate'), context: {} },
          result: 'ExplicitlyDenied', denying: ['DenyStateHistoryDeletion'] });
        for (const key of ['env:/staging/terraform.tfstate', 'terraform.tfstate.tflock.backup']) {
          denials.push({ why: `DeleteObjectVersion of ${key}`, request: { action: 's3:DeleteObjectVersion', resource: objectArn(cell, key), context: {} },
            result: 'ExplicitlyDenied', denying: ['DenyStateHistoryDeletion'] });
        }
        // TLS only, 1.2 or later (the bucket policy CDK's enforceSSL and minimumTLSVersion write, without a Sid).
        const read: IamRequest = { action: 's3:GetObject', resource: objectArn(cell, 'terraform.tfstate'), context: {} };
        denials.push(
          { why: 'plain HTTP', request: read, conditions: { secureTransport: false }, result: 'ExplicitlyDenied', denying: ['(no Sid: aws:SecureTransport)'] },
          { why: 'TLS 1.1', request: read, conditions: { tlsVersion: '1.1' }, result: 'ExplicitlyDenied', denying: ['(no Sid: s3:TlsVersion)'] },
        );
        for (const d of denials) {
          const decision = await decide(d.request, grantee, cell, d.conditions);
          expect({ why: d.why, action: d.request.action, result: decision.result, denying: decision.denyingStatements })
            .toEqual({ why: d.why, action: d.request.action, result: d.result, denying: d.denying });
        }
        counts.denied += denials.length;

        // 4. A principal outside the organization: every S3 and KMS request of the grant's operations is
        // denied by the boundary on the bucket and the key, by `DenyOutsideOrganization` alone (Terraform
        // administers no bucket; the lock table has no boundary statement).
        if (reach === 'another account of the organization') {
          const outside = (await decideAll(fixture, OPERATIONS[form], grantee, cell, { organizationId: OUTSIDER_ORGANIZATION }))
            .filter((d) => d.request.action.startsWith('s3:') || d.request.action.startsWith('kms:'));
          expect(outside.filter((d) => d.decision.result !== 'ExplicitlyDenied' || d.decision.denyingStatements.join() !== 'DenyOutsideOrganization')
            .map(shown)).toEqual([]);
          expect(outside.length).toBeGreaterThan(0);
          counts.denied += outside.length;
          counts.denied += (await boundaryOnAdministration(cell)).length;
        }
      }
    });
  });
});

test('the matrix: 4 grant forms × 3 locking modes × 3 encryptions × 3 places of the grantee', () => {
  expect(counts.cells).toBe(FORMS.length * LOCKINGS.length * ENCRYPTIONS.length * REACHES.length);
  // discoveryRead from another account (2 places × 9) and KMS_MANAGED from another account (3 forms × 2 places × 3 locking modes).
  expect(counts.refusedCells).toBe(2 * 9 + 3 * 2 * 3);
  // The backend's own key from another account, without `encryptionKeyArn` (3 forms × 2 places × 3 locking modes).
  expect(counts.keyArnRefusals).toBe(3 * 2 * 3);
  expect(counts.allowed).toBeGreaterThan(0);
  expect(counts.denied).toBeGreaterThan(0);
});
