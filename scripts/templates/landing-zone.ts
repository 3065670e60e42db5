/**
 * The landing-zone entries of each rollout (a standalone backend, or the
 * replicas and then a hardened backend), rendered from the catalogue and the
 * synthesized templates (their parameters and what capabilities they need):
 *
 * - a CfCT manifest (v2) with one `stack_set` resource per entry;
 * - LZA `customizations-config.yaml` entries, for `cloudFormationStacks` and
 *   for `cloudFormationStackSets` (two files: use one of them, not both);
 * - the AWS CLI commands for a service-managed StackSet with automatic
 *   deployment, as a POSIX shell script.
 *
 * Pure: no file is read or written here (generate.ts does that), so the tests
 * can check what is rendered.
 */
import { Document } from 'yaml';
import { PARAMETER } from '../../lib/private/template-parameters';
import { CatalogueTemplate, Rollout, templateFile } from './catalogue';

/** The example values an entry names where the user's own go; each is pointed out in the file's comments. */
export const PLACEHOLDERS = {
  /** CfCT's manifest `region`: the Control Tower home region. */
  homeRegion: 'eu-west-1',
  /** Where the backends go: two regions, so the hardened entries show one replica per backend region. */
  regions: ['eu-west-1', 'us-east-1'],
  /** Where the hardened profile's replicas go. */
  replicaRegion: 'eu-central-1',
  /** CfCT and LZA name OUs by name. */
  organizationalUnit: 'Workloads',
} as const;

/** The folder, relative to templates/, of a rollout's entries. */
export function landingZoneDir(rollout: Rollout): string {
  return `landing-zone/${rollout.id}`;
}

/** The files of a rollout's entries, in its folder. */
export const LANDING_ZONE_FILES = {
  cfct: 'cfct-manifest.yaml',
  lzaStacks: 'lza-cloudformation-stacks.yaml',
  lzaStackSets: 'lza-cloudformation-stack-sets.yaml',
  awsCli: 'aws-cli-stack-set.sh',
} as const;

/** A synthesized template's parts that the entries read. */
export interface TemplateShape {
  readonly Parameters?: Record<string, { Type: string; Default?: string | number }>;
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** What a rollout's entries are rendered from: its templates and their synthesized forms, by id. */
export interface RolloutInput {
  readonly rollout: Rollout;
  readonly templates: Readonly<Record<string, TemplateShape>>;
}

/** The capabilities CloudFormation needs for a template: IAM resources without names need CAPABILITY_IAM, named ones CAPABILITY_NAMED_IAM. */
export function capabilities(template: TemplateShape): string[] {
  const iam = Object.values(template.Resources).filter((r) => r.Type.startsWith('AWS::IAM::'));
  if (iam.length === 0) return [];
  const named = iam.some((r) => ['RoleName', 'ManagedPolicyName', 'UserName', 'GroupName', 'InstanceProfileName']
    .some((p) => r.Properties?.[p] !== undefined));
  return [named ? 'CAPABILITY_NAMED_IAM' : 'CAPABILITY_IAM'];
}

/**
 * One entry of a rollout: a template, the regions it is deployed to and, for
 * a replica, the backend region it serves. The replica template makes the
 * replica of one backend, whose source bucket derives from `SourceRegion`:
 * StackSets and LZA give one stack per account and region ("A stack instance
 * refers to a stack in a specific account and Region", CloudFormation's
 * CreateStackInstances), and every replica goes to the one replica region, so
 * the hardened rollout has one replica entry per backend region.
 */
export interface RolloutEntry {
  readonly t: CatalogueTemplate;
  readonly regions: readonly string[];
  /** For a replica: the region of the backend it serves (its `SourceRegion`). */
  readonly sourceRegion?: string;
}

/** A rollout's entries, in deployment order: a replica per backend region first, then the backend. */
export function rolloutEntries(rollout: Rollout): RolloutEntry[] {
  return rollout.templates.flatMap((t): RolloutEntry[] => t.kind === 'replica'
    ? PLACEHOLDERS.regions.map((sourceRegion) => ({ t, regions: [PLACEHOLDERS.replicaRegion], sourceRegion }))
    : [{ t, regions: [...PLACEHOLDERS.regions] }]);
}

/**
 * The entry's name in CfCT's and the CLI's spelling (`terraform-state-backend`,
 * `terraform-state-replica-eu-west-1`) and LZA's (`TerraformStateBackend`,
 * `TerraformStateReplica-eu-west-1`).
 */
function names(e: RolloutEntry) {
  return e.t.kind === 'replica'
    ? { kebab: `terraform-state-replica-${e.sourceRegion}`, pascal: `TerraformStateReplica-${e.sourceRegion}` }
    : { kebab: 'terraform-state-backend', pascal: 'TerraformStateBackend' };
}

function describe(e: RolloutEntry): string {
  const t = e.t;
  if (t.kind === 'replica') {
    return `Cross-region replica of the Terraform state of the backend in ${e.sourceRegion ?? 'SourceRegion'} (cdk-terraform-state-backend); ` +
      'deployed before that backend';
  }
  return `Terraform s3 backend (cdk-terraform-state-backend): locking ${t.locking}, encryption ${t.encryption}` +
    (t.replicated ? ', replicated to the replica region' : '');
}

/** The template's parameters with the values an entry gives them: the defaults, the replica region and the source region. */
export function entryParameters(template: TemplateShape, entry?: RolloutEntry): Array<[string, string]> {
  return Object.entries(template.Parameters ?? {}).map(([name, p]) => [
    name,
    name === PARAMETER.replicaRegion ? PLACEHOLDERS.replicaRegion
      : name === PARAMETER.sourceRegion && entry?.sourceRegion !== undefined ? entry.sourceRegion
        : String(p.Default ?? ''),
  ]);
}

const GENERATED = 'Generated by `npm run templates` (scripts/templates/) from the constructs: do not edit; see ' +
  'docs/organization-rollout.md.';

function header(lines: string[]): string {
  return [GENERATED, ...lines].map((l) => ` ${l}`.trimEnd()).join('\n');
}

function files(input: RolloutInput): string {
  return input.rollout.templates.map((t) => templateFile(t.id)).join(' and ');
}

/** Comments for the parameters every entry gives a value. */
function parameterNotes(input: RolloutInput): string[] {
  const notes = [
    'Parameters: the templates\' defaults (see each parameter\'s Description). Keep BucketName empty when the entry',
    'targets more than one account or region: bucket names are global, and the empty default derives',
    'terraform-state-<account>-<region> in each. OrganizationId empty: no organization boundary.',
  ];
  if (input.rollout.templates.some((t) => t.replicated)) {
    notes.push(
      `ReplicaRegion must be where the replicas are deployed (here ${PLACEHOLDERS.replicaRegion}), and not a backend region.`,
      'One replica per backend region (each replica is its backend\'s own): a replica entry for each region of the backend\'s',
      'entry, with SourceRegion that region. SourceBucketName empty derives terraform-state-<account>-<SourceRegion>, what the',
      'backend\'s empty BucketName derives there; give it the backend\'s BucketName where you set one.',
    );
  }
  return notes;
}

/** The CfCT manifest: one `stack_set` resource per entry, the replicas first. */
export function cfctManifest(input: RolloutInput): string {
  const doc = new Document({
    region: PLACEHOLDERS.homeRegion,
    version: '2021-03-15',
    resources: rolloutEntries(input.rollout).map((e) => ({
      name: names(e).kebab,
      description: describe(e),
      resource_file: `templates/${templateFile(e.t.id)}`,
      deploy_method: 'stack_set',
      deployment_targets: { organizational_units: [PLACEHOLDERS.organizationalUnit] },
      regions: [...e.regions],
      parameters: entryParameters(input.templates[e.t.id], e).map(([key, value]) => ({ parameter_key: key, parameter_value: value })),
    })),
  });
  // CfCT reads `version` as a YAML date (its schema's type), so it is written unquoted.
  (doc.get('version', true) as { type?: string }).type = 'PLAIN';
  doc.commentBefore = header([
    `A Customizations for Control Tower (CfCT) manifest, v2, that deploys ${files(input)}`,
    'as StackSets to every account of the organizational units, in the regions.',
    'Copy the template file(s) into your configuration\'s templates/ folder and the resource entries into your',
    'manifest.yaml; set region (your Control Tower home region), organizational_units and regions.',
    ...(input.rollout.templates.length > 1 ? [
      'In its sequential execution mode CfCT deploys the resources in the order listed, each waited for: the replicas first.',
    ] : []),
    ...parameterNotes(input),
    'No export_outputs: CfCT would store one stack instance\'s outputs (a random one) in the management account;',
    'each backend publishes its own settings in its own account, under DiscoveryPrefix.',
  ]);
  return doc.toString({ lineWidth: 0 });
}

function lzaDocument(key: 'cloudFormationStacks' | 'cloudFormationStackSets', entries: unknown[], lines: string[]): string {
  const doc = new Document({ customizations: { [key]: entries } });
  doc.commentBefore = header(lines);
  return doc.toString({ lineWidth: 0 });
}

/** LZA's `customizations.cloudFormationStacks`: one stack per account and region, the replicas first (runOrder). */
export function lzaCloudFormationStacks(input: RolloutInput): string {
  const entries = rolloutEntries(input.rollout).map((e) => ({
    name: names(e).pascal,
    description: describe(e),
    template: `cloudformation/${templateFile(e.t.id)}`,
    deploymentTargets: { organizationalUnits: [PLACEHOLDERS.organizationalUnit] },
    regions: [...e.regions],
    // The replicas side by side, then the backend.
    runOrder: input.rollout.templates.indexOf(e.t) + 1,
    terminationProtection: true,
    parameters: entryParameters(input.templates[e.t.id], e).map(([name, value]) => ({ name, value })),
  }));
  return lzaDocument('cloudFormationStacks', entries, [
    `Landing Zone Accelerator (LZA): customizations-config.yaml entries that deploy ${files(input)}`,
    'as one stack per account and region. Use these or the cloudFormationStackSets entries, not both.',
    'Copy the template file(s) to cloudformation/ in your configuration repository; set organizationalUnits and regions.',
    'terminationProtection: the stack holds Terraform state (its resources are retained even if it is deleted).',
    ...(input.rollout.templates.length > 1 ? ['runOrder deploys the replicas first.'] : []),
    ...parameterNotes(input),
  ]);
}

/** The roll-out settings the CDK StackSet uses, for the LZA StackSet and the CLI. */
export const OPERATION_PREFERENCES = { failureTolerancePercentage: 0, maxConcurrentPercentage: 25, regionConcurrencyType: 'PARALLEL' } as const;

/** LZA's `customizations.cloudFormationStackSets`: the replicas' StackSets first (the backend's dependsOn). */
export function lzaCloudFormationStackSets(input: RolloutInput): string {
  const all = rolloutEntries(input.rollout);
  const entries = all.map((e) => {
    const caps = capabilities(input.templates[e.t.id]);
    const before = all.filter((d) => input.rollout.templates.indexOf(d.t) < input.rollout.templates.indexOf(e.t));
    return {
      name: names(e).pascal,
      description: describe(e),
      template: `cloudformation/${templateFile(e.t.id)}`,
      ...(caps.length > 0 ? { capabilities: caps } : {}),
      deploymentTargets: { organizationalUnits: [PLACEHOLDERS.organizationalUnit] },
      regions: [...e.regions],
      parameters: entryParameters(input.templates[e.t.id], e).map(([name, value]) => ({ name, value })),
      operationPreferences: { ...OPERATION_PREFERENCES },
      ...(before.length > 0 ? { dependsOn: before.map((d) => names(d).pascal) } : {}),
    };
  });
  return lzaDocument('cloudFormationStackSets', entries, [
    `Landing Zone Accelerator (LZA): customizations-config.yaml entries that deploy ${files(input)}`,
    'as StackSets. Use these or the cloudFormationStacks entries, not both.',
    'Copy the template file(s) to cloudformation/ in your configuration repository; set organizationalUnits and regions.',
    ...(input.rollout.templates.length > 1 ? ['dependsOn creates and updates the replicas\' StackSets first.'] : []),
    ...parameterNotes(input),
  ]);
}

/** The environment variable that sets a parameter in the CLI script. */
export function parameterVariable(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The variable that holds each replica's backend region in the CLI script's loop. */
const SOURCE_REGION_VARIABLE = 'source_region';

/**
 * The lines that collect a template's parameters into `"$@"` (after `set --`):
 * each with its variable, passed only when set; `ReplicaRegion` and
 * `SourceRegion` from the script's regions; never `BucketName` or
 * `SourceBucketName` (a StackSet gives every account the same value, and bucket
 * names are global: the empty defaults derive them per account).
 */
function parameterLines(template: TemplateShape): string[] {
  const lines: string[] = [];
  for (const parameter of Object.keys(template.Parameters ?? {})) {
    if (parameter === PARAMETER.bucketName || parameter === PARAMETER.sourceBucketName) continue;
    const fixed = parameter === PARAMETER.replicaRegion ? '$REPLICA_REGION'
      : parameter === PARAMETER.sourceRegion ? `$${SOURCE_REGION_VARIABLE}` : undefined;
    if (fixed !== undefined) {
      lines.push(`set -- "$@" "ParameterKey=${parameter},ParameterValue=${fixed}"`);
      continue;
    }
    const v = parameterVariable(parameter);
    lines.push(`if [ -n "\${${v}+set}" ]; then set -- "$@" "ParameterKey=${parameter},ParameterValue=$${v}"; fi`);
  }
  return lines;
}

/**
 * The AWS CLI commands, as a POSIX shell script run from anywhere: a
 * service-managed StackSet per template with automatic deployment to accounts
 * that join the OUs later, and its stack instances in every account of the
 * OUs. For the hardened rollout, first a replica StackSet per backend region
 * (`<REPLICA_STACK_SET_NAME>-<region>`, its instances in `REPLICA_REGION`,
 * `SourceRegion` that region), each waited for; then the backend's, whose
 * automatic deployments wait for every replica's (`AutoDeployment.DependsOn`).
 */
export function awsCliScript(input: RolloutInput): string {
  const hardened = input.rollout.templates.length > 1;
  const lines: string[] = [
    '#!/bin/sh',
    ...header([
      `The AWS CLI commands that roll out ${files(input)}`,
      'with service-managed StackSets (the management account, or a delegated administrator with CALL_AS=DELEGATED_ADMIN),',
      'to every account of the organizational units, in the regions. Trusted access for StackSets must be on:',
      '  aws organizations enable-aws-service-access --service-principal member.org.stacksets.cloudformation.amazonaws.com',
      '',
      'Run from anywhere (the template is found next to this folder):',
      `  ORGANIZATIONAL_UNIT_IDS="ou-ab12-cd34ef56" REGIONS="eu-west-1 us-east-1"${hardened ? ' REPLICA_REGION=eu-central-1' : ''} sh ${LANDING_ZONE_FILES.awsCli}`,
      '',
      'Every parameter is the template\'s default unless its variable is set: ' +
      Object.keys(input.templates[input.rollout.templates[input.rollout.templates.length - 1].id].Parameters ?? {})
        .filter((p) => p !== PARAMETER.bucketName && p !== PARAMETER.replicaRegion).map(parameterVariable).join(', ') + '.',
      'BucketName is not offered: a StackSet gives every account the same value, and bucket names are global. A comma',
      'in a value needs a backslash before it (AWS CLI shorthand).',
      ...(hardened ? [
        '',
        'Every backend has a replica of its own, named after its bucket: the script makes one replica StackSet per region',
        'of REGIONS, <REPLICA_STACK_SET_NAME>-<region>, with SourceRegion that region and its stack instances in',
        'REPLICA_REGION (a StackSet has one stack instance per account and region). SourceBucketName is not offered, as',
        'BucketName: empty, it derives terraform-state-<account>-<SourceRegion>, the backend\'s bucket. A region added to',
        'the backend\'s StackSet later needs its replica StackSet first.',
        'In an account that joins an OU later, the backend must not be made before its replica (S3 refuses replication',
        'to a bucket that does not exist): the backend\'s StackSet depends on the replicas\' for automatic deployments',
        '(AutoDeployment DependsOn), which StackSets then run in that order.',
      ] : []),
    ]).split('\n').map((l) => `#${l}`),
    'set -eu',
    'here=$(cd "$(dirname "$0")" && pwd)',
    ': "${ORGANIZATIONAL_UNIT_IDS:?set ORGANIZATIONAL_UNIT_IDS to the organizational unit IDs (ou-...) or the root ID (r-...), separated by spaces}"',
    ': "${REGIONS:?set REGIONS to the regions of the backends, separated by spaces}"',
    ...(hardened ? [
      ': "${REPLICA_REGION:?set REPLICA_REGION to the region of the replicas (not one of REGIONS)}"',
      'for region in $REGIONS; do',
      '  if [ "$region" = "$REPLICA_REGION" ]; then',
      '    echo "REPLICA_REGION $REPLICA_REGION is one of REGIONS ($REGIONS): replication within one region does not survive the loss of that region; choose another REPLICA_REGION" >&2',
      '    exit 2',
      '  fi',
      'done',
    ] : []),
    'CALL_AS="${CALL_AS:-SELF}"',
    'targets=$(printf \'%s\' "$ORGANIZATIONAL_UNIT_IDS" | tr -s \' \' \',\')',
    '',
    '# Waits for a StackSet operation to end; fails unless it succeeded.',
    'wait_for_operation() {',
    '  while :; do',
    '    status=$(aws cloudformation describe-stack-set-operation --stack-set-name "$1" --operation-id "$2" --call-as "$CALL_AS" \\',
    '      --query StackSetOperation.Status --output text)',
    '    case "$status" in',
    '      SUCCEEDED) return 0 ;;',
    '      FAILED|STOPPED) echo "StackSet $1: operation $2 ended $status" >&2; return 1 ;;',
    '    esac',
    '    sleep 10',
    '  done',
    '}',
  ];
  for (const t of input.rollout.templates) {
    const template = input.templates[t.id];
    const caps = capabilities(template);
    const replica = t.kind === 'replica';
    // A replica's StackSet per backend region, in a loop; its name and description name the region.
    const name = replica ? `"$REPLICA_STACK_SET_NAME-$${SOURCE_REGION_VARIABLE}"` : '"$STACK_SET_NAME"';
    const [before, after] = describe({ t, regions: [], sourceRegion: '\0' }).split('\0');
    const description = after === undefined ? shellQuote(before) : `${shellQuote(before)}"$${SOURCE_REGION_VARIABLE}"${shellQuote(after)}`;
    const commands = [
      'set --',
      ...parameterLines(template),
      'if [ $# -gt 0 ]; then set -- --parameters "$@"; fi',
      'aws cloudformation create-stack-set \\',
      `  --stack-set-name ${name} \\`,
      `  --description ${description} \\`,
      `  --template-body "file://$here/../../${templateFile(t.id)}" \\`,
      ...(caps.length > 0 ? [`  --capabilities ${caps.join(' ')} \\`] : []),
      '  --permission-model SERVICE_MANAGED \\',
      hardened && !replica
        ? '  --auto-deployment "Enabled=true,RetainStacksOnAccountRemoval=true,DependsOn=[$replica_arns]" \\'
        : '  --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=true \\',
      '  --managed-execution Active=true \\',
      '  --call-as "$CALL_AS" "$@"',
      'operation=$(aws cloudformation create-stack-instances \\',
      `  --stack-set-name ${name} \\`,
      '  --deployment-targets "OrganizationalUnitIds=$targets" \\',
      `  --regions ${replica ? '"$REPLICA_REGION"' : '$REGIONS'} \\`,
      `  --operation-preferences MaxConcurrentPercentage=${OPERATION_PREFERENCES.maxConcurrentPercentage},` +
      `FailureTolerancePercentage=${OPERATION_PREFERENCES.failureTolerancePercentage},RegionConcurrencyType=${OPERATION_PREFERENCES.regionConcurrencyType} \\`,
      '  --call-as "$CALL_AS" --query OperationId --output text)',
      `wait_for_operation ${name} "$operation"`,
      `echo "StackSet ${name.slice(1, -1)}: stack instances made (operation $operation)"`,
    ];
    if (replica) {
      lines.push(
        '',
        `# ${templateFile(t.id)}: a StackSet per backend region, its stack instances in REPLICA_REGION`,
        'REPLICA_STACK_SET_NAME="${REPLICA_STACK_SET_NAME:-terraform-state-replica}"',
        'replica_arns=',
        `for ${SOURCE_REGION_VARIABLE} in $REGIONS; do`,
        ...[
          ...commands,
          `replica_arn=$(aws cloudformation describe-stack-set --stack-set-name ${name} --call-as "$CALL_AS" \\`,
          '  --query StackSet.StackSetARN --output text)',
          'replica_arns="${replica_arns:+$replica_arns,}$replica_arn"',
        ].map((l) => `  ${l}`),
        'done',
      );
    } else {
      lines.push('', `# ${templateFile(t.id)}`, 'STACK_SET_NAME="${STACK_SET_NAME:-terraform-state-backend}"', ...commands);
    }
  }
  return `${lines.join('\n')}\n`;
}
