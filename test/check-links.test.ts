/**
 * scripts/check-links.js (run by `npm run test:packaging` on the repository's documents):
 * on a tree of stand-in documents, every kind of link it checks resolves, and each kind
 * of broken link fails the run, named by file and line.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', 'scripts', 'check-links.js');
const REPO = 'https://github.com/cdk-terraform-state-backend/cdk-terraform-state-backend';

function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'check-links-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

function run(root: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

const GOOD: Record<string, string> = {
  'README.md': [
    '# Project',
    '',
    '## From zero to `terraform init`',
    '',
    `See [locking](${REPO}/blob/main/docs/locking.md#migrating-from-dynamodb-to-lock-files), `
    + `[the templates](${REPO}/tree/main/templates), [up here](#from-zero-to-terraform-init), `
    + '[the CLI](cli/README.md#permissions) and [Terraform](https://developer.hashicorp.com/terraform).',
    '',
    '```sh',
    'echo "[not a link](missing.md)"',
    '```',
    '',
    'Inline code is not a link either: `[x](missing.md)`.',
  ].join('\n'),
  'docs/locking.md': [
    '# Locking',
    '',
    'Back to the [README](../README.md).',
    '',
    '## Migrating from DynamoDB to lock files',
    '',
    '## "State data in S3 does not have the expected content"',
    '',
    '## Steps',
    '',
    '## Steps',
    '',
    'See [the error](#state-data-in-s3-does-not-have-the-expected-content), [the second Steps](#steps-1) '
    + 'and [a folder](../templates/).',
  ].join('\n'),
  'cli/README.md': '# CLI\n\n## Permissions\n\nBack to [the project](../README.md#project).\n',
  'templates/index.json': '{}\n',
};

describe('check-links', () => {
  test('every kind of link it checks resolves: relative, anchors, repository URLs; code and other sites are left alone', () => {
    const r = run(tree(GOOD));
    expect(r.out).toContain('every relative and repository link in 3 documents resolves');
    expect(r.status).toBe(0);
  });

  test.each([
    ['a relative link to a missing file', 'docs/locking.md', '[x](missing.md)', 'docs/locking.md:15: missing.md: docs/missing.md does not exist'],
    ['a link whose text spans two lines', 'docs/locking.md', '[a link\nover two lines](missing.md)',
      'docs/locking.md:16: missing.md: docs/missing.md does not exist'],
    ['a missing anchor', 'docs/locking.md', '[x](#migrating)',
      'docs/locking.md:15: #migrating: docs/locking.md has no heading with the anchor #migrating (did you mean #migrating-from-dynamodb-to-lock-files?)'],
    ['a missing anchor in another file', 'cli/README.md', '[x](../README.md#no-such-heading)',
      'cli/README.md:8: ../README.md#no-such-heading: README.md has no heading with the anchor #no-such-heading'],
    ['a repository URL to a missing file', 'README.md', `[x](${REPO}/blob/main/docs/bootstrap.md)`,
      `README.md:13: ${REPO}/blob/main/docs/bootstrap.md: docs/bootstrap.md does not exist`],
    ['a repository URL to a missing anchor', 'README.md', `[x](${REPO}/blob/main/docs/locking.md#steps-2)`,
      'docs/locking.md has no heading with the anchor #steps-2'],
    ['an anchor into a file that is not Markdown', 'README.md', '[x](templates/index.json#top)',
      'an anchor into templates/index.json, which is not a Markdown file'],
  ])('%s fails the run, named by file and line', (_name, file, link, message) => {
    const files = { ...GOOD, [file]: `${GOOD[file]}\n\n${link}\n` };
    const r = run(tree(files));
    expect(r.status).toBe(1);
    expect(r.out).toContain('check-links: 1 broken link in');
    expect(r.out).toContain(message);
  });
});
