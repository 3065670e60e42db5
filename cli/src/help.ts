/** The help texts: `tfstate-ops --help` and `tfstate-ops <command> --help`. */
import { CommandName } from './commands';
import { DEFAULT_STACK_NAME } from './cmd-bootstrap';
import { INVENTORY_CONCURRENCY } from './inventory';
import { permissionsHelp } from './permissions';

export const TOOL = 'tfstate-ops';

const BACKEND = `Backend (one of --backend-config, --discovery or the flags; flags override the other two):
  --backend-config FILE      the backend configuration the stack emits (backend.hcl), or a
                             backend "s3" block; its key is the default <key>: pass <key>
                             when \`terraform init\` was given another (-backend-config=key=...)
  --discovery PREFIX         the construct's discovery parameters under PREFIX (/terraform/backend/)
  --bucket NAME              the state bucket (bucket)
  --table NAME               the DynamoDB lock table (dynamodb_table)
  --lockfile                 the backend uses S3 lock files (use_lockfile = true)
  --region REGION            the backend's region (default: AWS_REGION, or the profile's region)
  --workspace-key-prefix P   workspace_key_prefix (default: env:; "" for none: W/<key>)
  --encrypt                  encrypt = true: writes use SSE-S3, or SSE-KMS with --kms-key-id
  --kms-key-id ID            kms_key_id
  --path-style               S3 path-style URLs, for emulators (also: AWS_S3_FORCE_PATH_STYLE=true)`;

const OUTPUT = `Output:
  --json                     one JSON document on stdout instead of text
  -h, --help                 this help`;

const ENVIRONMENT = `Environment: the AWS SDK's usual chain. Credentials: AWS_PROFILE, AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, SSO, roles. Region: AWS_REGION or the profile. Endpoint:
AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SSM).`;

const FLEET = `Several backends at once (locks and inventory):
  --accounts ID,ID           these accounts' backends, one table with ACCOUNT and REGION columns
  --organization             every ACTIVE account of the AWS Organization (ListAccounts, with the
                             caller's credentials: its management or a delegated administrator account)
  --role-name NAME           the role to assume in each account (sts:AssumeRole on
                             arn:aws:iam::<account>:role/NAME); required with the two above
  --regions R,R              the regions to look in (default: --region, or AWS_REGION)
  Each account and region's backend is found by its discovery parameters (--discovery
  PREFIX, required here); the other backend flags apply to every one. A backend that cannot
  be reached (the role refused, no parameters, access denied) is one line of the report
  with the reason, not the end of the run; the exit code is then 1.`;

export const EXIT_CODES = `Exit codes:
  0  done (digest: the digest matches the state)
  1  failed: AWS refused a call (the message names the action and the resource) or could not be reached
  2  usage: a wrong command line or backend configuration; nothing was done
  3  refused for safety, nothing was changed: the lock ID does not match, the state is locked,
     the version is of another lineage, or the state changed during the operation
  4  not found: the bucket, table, state, version, lock or discovery parameter does not exist
  5  digest: the digest item and the state object disagree`;

export const MAIN_HELP = `${TOOL}: state operations for Terraform's (and OpenTofu's) s3 backend: see and clear
locks, browse and restore state history, check the state digest; and bootstrap, which
deploys the backend itself.

Usage: ${TOOL} <command> [arguments] [options]

Commands:
  locks                      every lock held in the backend, with who holds it and its age
  inventory                  every state in the backend: serial, resources, lock, digest; anomalies
  unlock <state path> --id ID
                             remove one lock, only if it is still the one with that ID
  history [<key>]            the versions of a state: serial, lineage, Terraform version
  restore [<key>] --version-id V
                             make an older version current, under Terraform's lock
  diff [<key>] [--from V] [--to V]
                             the resources added, removed and changed between two versions
  digest [<key>]             compare the digest item with the state; --fix rewrites it
  prune-locks [--delete]     the old versions and delete markers of lock files (*.tflock):
                             listed, or with --delete deleted
  bootstrap                  deploy the backend (bucket, lock table) with CloudFormation from
                             the template this package ships; prints the backend block

locks and inventory also run over several backends at once (--accounts or --organization,
--role-name, --regions, with --discovery): see their --help.

${BACKEND}

${OUTPUT}

${ENVIRONMENT}

${EXIT_CODES}

(bootstrap takes its own options, not the backend ones above: see ${TOOL} bootstrap --help.)

Run \`${TOOL} <command> --help\` for a command's options.
`;

export const COMMAND_HELP: Record<CommandName, string> = {
  'locks': `Usage: ${TOOL} locks [--older-than DURATION] [backend options] [--json]

Lists every lock held in the backend, where the backend keeps them: the lock items of
its DynamoDB table (dynamodb_table; digest items, which hold no lock Info, are not locks)
and the <state path>.tflock objects of its bucket (use_lockfile), each with its state
path, lock ID, who holds it, the operation, the Terraform version, when it was taken and
its age, and says which of the two it looked at. A backend that names neither is refused
(exit 2). With both lock kinds, one Terraform run holds one of each, with the same ID.

  --older-than DURATION      only locks at least this old (90s, 15m, 2h, 1d, 1h30m)

${FLEET}

${permissionsHelp('locks')}

${BACKEND}

${OUTPUT}

${EXIT_CODES}
`,
  'inventory': `Usage: ${TOOL} inventory [--prefix P] [--stale-after DURATION] [--locked] [--mismatch]
                     [--sort path|modified|size|serial] [backend options] [--json]

Lists every state in the backend's bucket, not only the backend configuration's key: a
bucket holds the states of many configurations. An object is read as a state when its
key ends in .tfstate, or is the backend's key (default workspace) or
<workspace_key_prefix>/<workspace>/<key>, or a lock or digest item names it; it is a
state when its JSON has version, serial and lineage (otherwise it is reported as
not-a-state). Other objects are counted and not read. The workspace of
<workspace_key_prefix>/<W>/<rest> is W with key <rest>; anything else is the default
workspace. With workspace_key_prefix "" a path is a workspace's only when it is
<W>/<backend key>.

For each state: path, workspace, key, serial, lineage, Terraform version, resources
(instances, as \`terraform state list\` lists them), size, last modified, current version
ID, lock (ID, who, operation, age; lock item and lock file) or -, and digest: match or
mismatch (the digest item's MD5 against the MD5 of the object's bytes, as \`${TOOL} digest\`
compares them), missing (no digest item), n/a (no lock table, so no digests).
Then the anomalies:
  orphan-digest  a digest item (<bucket>/<path>-md5) with no state object
  orphan-lock    a lock item or lock file with no state object
  not-a-state    an object read as a state that is not one (empty, not JSON, no serial ...)
  no-resources   a state with no resources (a destroyed stack, or never applied)
  stale          a state not written for --stale-after

Cost: one listing of the bucket (ListObjectsV2, 1,000 keys a call), one Scan of the lock
table for every lock and digest item (no call per state), one GetObject per state and per
lock file, at most ${INVENTORY_CONCURRENCY} at a time: about 1 call per state. On an interactive
terminal, a progress line on stderr when there are more than 500 states to read.

  --prefix P                 only object keys starting with P (the listing's Prefix)
  --stale-after DURATION     report states last written at least this long ago (30d, 12h)
  --locked                   only states with a lock
  --mismatch                 only states whose digest does not match
  --sort ORDER               path (A-Z, default), modified (newest first), size (largest
                             first), serial (highest first)

--json (field names are part of the interface): { bucket, table, workspaceKeyPrefix,
prefix, searched: { objectsListed, objectsRead, notRead: { count, examples },
lockFilesNotRead, locks, digests }, states: [ { path, workspace, key, serial, lineage, terraformVersion,
resources, size, lastModified, versionId, md5, lock: null or [ lock as \`${TOOL} locks
--json\` gives it ], digest: match|mismatch|missing|n/a, digestValue } ], notShown,
anomalies: [ { kind, path, detail } ] }. With --accounts or --organization:
{ backends: [ { account, region, ok, error?, ...the above } ], failed }.

${FLEET}

${permissionsHelp('inventory')}

${BACKEND}

${OUTPUT}

${EXIT_CODES}
`,
  'unlock': `Usage: ${TOOL} unlock <state path> --id LOCK_ID [backend options] [--json]

Removes the lock on <state path> (the state object key as \`${TOOL} locks\` shows it, for
example terraform.tfstate or env:/staging/terraform.tfstate; Terraform's lock Path,
<bucket>/<state path>, is accepted too: the bucket name is dropped, and the tool says so)
only if it is still the lock with LOCK_ID: a lock released and taken again by someone
else in the meantime is never removed. A wrong ID is refused (exit 3) and the lock stays.
The state the lock is on is named first, on stderr.

  --id LOCK_ID               the ID of the lock to remove (required)

It looks only where the backend keeps locks: the lock item (dynamodb_table) with GetItem,
compare the ID, DeleteItem conditioned on the Info read (Info = :info, as OpenTofu releases
locks); the lock file (use_lockfile) with GetObject, compare the ID, DeleteObject with
If-Match: <ETag> (an S3 conditional delete). With both kinds, both are checked before
either is removed.

${permissionsHelp('unlock')}

${BACKEND}

${OUTPUT}

${EXIT_CODES}
`,
  'history': `Usage: ${TOOL} history [<key>] [--workspace W] [--limit N] [backend options] [--json]

Lists the versions of a state object, newest first: version ID, time, size, and from each
version's JSON the serial, lineage and Terraform version; the current version is marked
with *. Only the exact key is listed (not other keys that start with it). <key> defaults
to the backend configuration's key; the state is named first, on stderr, with where its
key came from.

  --workspace W              the workspace (its state is <workspace_key_prefix>/W/<key>, or
                             W/<key> with an empty prefix)
  --limit N                  at most N versions (default 20; 0 for all)

${permissionsHelp('history')}

${BACKEND}

${OUTPUT}

${EXIT_CODES}
`,
  'restore': `Usage: ${TOOL} restore [<key>] --version-id V [--workspace W] [--allow-other-lineage]
                   [--keep-serial] [--dry-run] [backend options] [--json]

Makes version V of the state current, as Terraform would write it:
  1. takes the state's lock the way Terraform does (lock file with If-None-Match: *,
     lock item with attribute_not_exists(LockID)), naming this tool as the holder, so a
     concurrent terraform apply waits or fails; a held lock is refused (exit 3);
  2. refuses a version of another lineage than the current state (exit 3) unless
     --allow-other-lineage;
  3. writes the version as the new current version with the backend's encryption
     (encrypt, kms_key_id), conditioned on the current version's ETag;
  4. writes the matching -md5 digest item (with a table);
  5. releases the lock.
The restored state gets the serial after the current one (same lineage), so plans saved
against any earlier state are refused as stale; --keep-serial writes version V's bytes
unchanged instead. <key> defaults to the backend configuration's key; the state is named
first, on stderr, with where its key came from.

  --version-id V             the version to restore (see \`${TOOL} history\`) (required)
  --workspace W              the workspace
  --allow-other-lineage      restore a version whose lineage differs from the current state's
  --keep-serial              keep version V's serial (write its exact bytes)
  --dry-run                  only print what the restore would change: the diff (as \`${TOOL} diff\`
                             prints it, names only) from the current version to version V.
                             Reads the two versions (s3:GetObject, s3:GetObjectVersion); takes
                             no lock and writes nothing.

${permissionsHelp('restore')}

${BACKEND}

${OUTPUT}

${EXIT_CODES}
`,
  'diff': `Usage: ${TOOL} diff [<key>] [--from V] [--to V] [--workspace W] [--values] [backend options] [--json]

The resource-level differences between two versions of a state (default: the version
before the current one, and the current one), by resource instance address: module
path, \`data.\` for data sources, type.name, then the instance key (\`[0]\` for count,
\`["key"]\` for for_each), as \`terraform state list\` prints them:
  + added      the instance is in --to only
  - removed    the instance is in --from only
  ~ changed    both have it; the top-level attribute names whose values differ
and the outputs added, removed or changed. State holds secrets, so values are printed
only with --values, and never the value of an attribute listed in the instance's
sensitive_attributes (on either side) or of a sensitive output: those say (sensitive).
<key> defaults to the backend configuration's key; the state is named first, on stderr.

  --from V                   the older version (default: the one before --to)
  --to V                     the newer version (default: the current version)
  --workspace W              the workspace
  --values                   print the changed values (never sensitive ones), cut at 200 characters

--json: { bucket, statePath, from, to, resources, outputs }; from and to are
{ versionId, current, lastModified, serial, lineage }; each resource is
{ address, change: added|removed|changed, attributes: [names], values? }, values by
attribute name { sensitive: true } or { sensitive: false, from, to }; each output is
{ name, change, sensitive, from?, to? }.

${permissionsHelp('diff')}

${BACKEND}

${OUTPUT}

${EXIT_CODES}
`,
  'digest': `Usage: ${TOOL} digest [<key>] [--workspace W] [--fix] [backend options] [--json]

Compares the state's digest item (<bucket>/<state path>-md5 in the lock table, which
Terraform checks on every read) with the MD5 of the state object's bytes (downloaded and
hashed: an SSE-KMS object's ETag is not its MD5), and says which is which: when they
differ, the versions of the state are searched for the one the digest belongs to.
Terraform refuses a mismatched state with "state data in S3 does not have the expected
content". <key> defaults to the backend configuration's key; the state is named first, on
stderr, with where its key came from. Needs the lock table (dynamodb_table).

  --workspace W              the workspace
  --fix                      under the state's lock, rewrite the digest from the current state
                             object (or delete it when the state object is gone)

Exit 0 when they match (or after --fix), 5 when they do not.

${permissionsHelp('digest')}

${BACKEND}

${OUTPUT}

${EXIT_CODES}
`,
  'prune-locks': `Usage: ${TOOL} prune-locks [--older-than DURATION] [--prefix P] [--delete] [backend options] [--json]

In a versioned bucket every locked Terraform run (use_lockfile) leaves a version of its
<state path>.tflock and a delete marker, and no lifecycle rule can pick lock files out
(filters take prefixes and tags, not suffixes: Terraform issue #36445). This command lists
the versions and delete markers of every key under the prefix (ListObjectVersions) and
removes, by version ID (DeleteObjects, at most 1000 a request), those of keys ending
.tflock only:
  - every noncurrent version and noncurrent delete marker of a lock file;
  - the current delete marker of a lock file (a lock released), once every older entry of
    its key is gone, so that no old lock version ever becomes current again.
It never deletes the current version of a lock file (a lock held, or one left behind: see
\`${TOOL} locks\`), and never anything whose key does not end .tflock (states, digests'
states, anything else). It looks at lock files whatever the backend's locking: a backend
without use_lockfile may hold them from before a migration.

A DRY RUN BY DEFAULT: it says what it would remove and deletes nothing, because a deleted
version cannot be brought back. Pass --delete to delete. It says what it looked at, what
it removed (versions, delete markers, bytes) and what it kept; a key S3 refused is listed
with S3's error and the exit code is 1.

  --delete                   delete (default: a dry run that deletes nothing)
  --older-than DURATION      only entries noncurrent for at least this long (a delete marker:
                             released at least this long ago), as S3's lifecycle counts it
                             (90s, 15m, 2h, 1d, 1h30m)
  --prefix P                 only keys under P (default: the whole bucket)

The construct's bucket policy (DenyStateHistoryDeletion) denies s3:DeleteObjectVersion on
every object but *.tflock, so an ordinary grant of it on the lock files is enough; on a
bucket that denies it on every object, only stateHistoryAdmins may prune.

${permissionsHelp('prune-locks')}

${BACKEND}

${OUTPUT}

${EXIT_CODES}
`,
  'bootstrap': `Usage: ${TOOL} bootstrap [--locking L] [--encryption E] [--bucket NAME] [--table NAME]
                     [--stack-name NAME] [--region R] [--dry-run] [--yes] [--json]
                     [--write-backend-tf FILE] [--write-backend-config FILE]

Deploys the backend (a versioned, encrypted, private state bucket, its access-log bucket,
the lock table and the discovery parameters) into the caller's account and region with
CloudFormation, from the template this package ships for --locking and --encryption
(the templates/ of the repository; nothing is synthesized, no CDK is needed), and prints
the terraform { backend "s3" {...} } block.

  1. A change set (CREATE, or UPDATE of an existing stack) is made and shown first. An
     existing stack made by \`cdk deploy\` of the app is updated in place (same logical IDs;
     its CDKMetadata and BootstrapVersion go).
  2. Refused, nothing executed, change set deleted (exit 3): a replacement (True or
     Conditional) or a removal of a resource with a fixed name (the buckets, the table,
     the parameters, the key alias) or of the state bucket; a --bucket or --table other
     than the stack's; a stack in ROLLBACK_COMPLETE (delete it first: the message gives
     the command).
  3. --dry-run stops here. Otherwise, without --yes, it asks on a terminal; with no
     terminal it executes nothing and says to pass --yes (exit 2).
  4. The stack's events are shown on stderr until it settles. A second run with the same
     flags changes nothing and says so.

  --locking L                DYNAMODB (default), S3_LOCKFILE or DYNAMODB_AND_S3_LOCKFILE
  --encryption E             S3_MANAGED (default) or KMS (a key the template makes)
  --bucket NAME              the state bucket (default: terraform-state-<account>-<region>;
                             on an existing stack: its bucket, kept)
  --table NAME               the lock table (default: terraform-lock; existing: kept)
  --stack-name NAME          the stack (default: ${DEFAULT_STACK_NAME}, the app's stack name)
  --region R                 the region (default: AWS_REGION, or the profile's region);
                             checked against the regions of every AWS partition
  --state-key KEY            the key in the printed backend (default: terraform.tfstate)
  --organization-id O        o-...: only the organization's principals may use the state
  --discovery-prefix P       the SSM prefix of the discovery parameters (/terraform/backend/)
  --noncurrent-version-expiration-days N, --noncurrent-versions-to-retain N
                             how long old state versions are kept (90 days; the newest 10)
  --dry-run                  make the change set, show it, delete it, stop
  -y, --yes                  execute without asking
  --write-backend-tf FILE    write the terraform { backend "s3" {...} } block to FILE
  --write-backend-config FILE
                             write the settings for terraform init -backend-config=FILE
                             (never over an existing file: exit 2 before anything is done)
  --json                     one JSON document on stdout: the changes, and the backend
  -h, --help                 this help

Flags left out on an existing stack keep the stack's values (UsePreviousValue). The
backend printed comes from the stack's outputs; where the stack returns none (moto's
CloudFormation), from its parameters and physical resource IDs, and it says so.

${permissionsHelp('bootstrap')}

${ENVIRONMENT.replace('AWS_ENDPOINT_URL_SSM)', 'AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_CLOUDFORMATION)')}

${EXIT_CODES}
For bootstrap: 0 deployed, already up to date, or a dry run; 1 also when the stack failed
(the message names why, from its events); 2 also without --yes and without a terminal;
3 a change refused as above, or "no" at the prompt (nothing was executed).
`,
};
