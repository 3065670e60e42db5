#!/usr/bin/env node
// Checks the links of the documents: README.md, docs/*.md and cli/README.md.
//
// - A relative link (`docs/locking.md`, `../API.md`, `#grants`) must name a file or
//   folder that exists, relative to the document, and its `#anchor` a heading of the
//   target Markdown file, by GitHub's rule for heading anchors.
// - An absolute link into this repository's main branch
//   (`https://github.com/cdk-terraform-state-backend/cdk-terraform-state-backend/blob/main/<path>`,
//   or `tree/main/`) is checked the same way, against `<path>` in this tree. README.md
//   uses those: it is also the package page on Construct Hub, npm and PyPI, where a
//   relative link would not resolve to the repository everywhere.
// - Other absolute links (other sites) are not fetched.
//
// Usage: node scripts/check-links.js [root]   (root defaults to the repository)
// Exit 0 when every link resolves, 1 with one line per broken link otherwise.
'use strict';

const fs = require('fs');
const path = require('path');

const REPOSITORY = 'https://github.com/cdk-terraform-state-backend/cdk-terraform-state-backend/';
const IN_REPOSITORY = new RegExp(`^${REPOSITORY.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?:blob|tree)/main/([^#?]*)(#.*)?$`);

/** The documents checked, relative to root: README.md, docs/*.md, cli/README.md (those that exist). */
function documents(root) {
  const docs = fs.existsSync(path.join(root, 'docs'))
    ? fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)
    : [];
  return ['README.md', ...docs, 'cli/README.md'].filter((f) => fs.existsSync(path.join(root, f)));
}

/** A Markdown file's lines, those of fenced code blocks (and their fences) as undefined. */
function outsideFences(markdown) {
  let fence;
  return markdown.split('\n').map((line) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (!fence) fence = m[1];
      else if (m[1].startsWith(fence[0]) && m[1].length >= fence.length) fence = undefined;
      return undefined;
    }
    return fence ? undefined : line;
  });
}

/**
 * A Markdown file's text with fenced code blocks and inline code blanked out (newlines
 * kept, so offsets still give line numbers): links in code are not links.
 */
function prose(markdown) {
  return outsideFences(markdown).map((line) => (line === undefined ? '' : line.replace(/(`+)(?:(?!\1).)+?\1/g, ''))).join('\n');
}

/** GitHub's anchor for a heading's text (as github-slugger makes it), before de-duplication. */
function slug(headingText) {
  const text = headingText
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .replace(/`/g, '')
    .replace(/(\*\*|__|\*|~~)/g, '');
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** Every anchor of a Markdown file: its headings' slugs, duplicates numbered as GitHub does (`-1`, `-2`). */
function anchors(markdown) {
  const seen = new Map();
  const result = new Set();
  for (const line of outsideFences(markdown)) {
    if (line === undefined) continue;
    const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = slug(h[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** The inline links `[text](target)` and images of a text, as [lineNumber, target]; a link's text may span lines. */
function linkTargets(text) {
  const targets = [];
  const re = /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^()\s>]*(?:\([^()\s]*\)[^()\s>]*)*)>?(?:\s+["'(][^)]*)?\)/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    const end = m.index + m[0].length;
    targets.push([text.slice(0, end).split('\n').length, m[1]]);
  }
  return targets;
}

/** The problems of one document, as "file:line: message". */
function checkDocument(root, doc, cache) {
  const problems = [];
  const read = (file) => {
    if (!cache.has(file)) cache.set(file, fs.readFileSync(file, 'utf8'));
    return cache.get(file);
  };
  const docPath = path.join(root, doc);
  for (const [lineNo, target] of linkTargets(prose(read(docPath)))) {
    let filePart;
    let anchor;
    let base;
    const inRepo = IN_REPOSITORY.exec(target);
    if (inRepo) {
      filePart = decodeURIComponent(inRepo[1]);
      anchor = inRepo[2] ? inRepo[2].slice(1) : undefined;
      base = root;
    } else if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) {
      continue; // another site, mailto: and the like: not fetched
    } else {
      const hash = target.indexOf('#');
      filePart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
      anchor = hash === -1 ? undefined : target.slice(hash + 1);
      base = path.dirname(docPath);
    }
    const where = `${doc}:${lineNo}`;
    const resolved = filePart === '' ? docPath : path.resolve(base, filePart);
    const shown = path.relative(root, resolved) || '.';
    if (!resolved.startsWith(path.resolve(root))) {
      problems.push(`${where}: ${target} points outside the repository`);
      continue;
    }
    if (!fs.existsSync(resolved)) {
      problems.push(`${where}: ${target}: ${shown} does not exist`);
      continue;
    }
    if (anchor === undefined || anchor === '') continue;
    if (!resolved.endsWith('.md') || fs.statSync(resolved).isDirectory()) {
      problems.push(`${where}: ${target}: an anchor into ${shown}, which is not a Markdown file`);
      continue;
    }
    const available = anchors(read(resolved));
    if (!available.has(decodeURIComponent(anchor))) {
      const close = [...available].filter((a) => a.includes(anchor) || anchor.includes(a)).slice(0, 3);
      problems.push(`${where}: ${target}: ${shown} has no heading with the anchor #${anchor}`
        + (close.length ? ` (did you mean ${close.map((a) => `#${a}`).join(', ')}?)` : ''));
    }
  }
  return problems;
}

function checkLinks(root) {
  const cache = new Map();
  const docs = documents(root);
  const problems = docs.flatMap((doc) => checkDocument(root, doc, cache));
  return { docs, problems };
}

module.exports = { checkLinks, slug, anchors, linkTargets };

if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
  const { docs, problems } = checkLinks(root);
  if (problems.length > 0) {
    process.stderr.write(`check-links: ${problems.length} broken link${problems.length === 1 ? '' : 's'} in ${docs.join(', ')}:\n`);
    for (const p of problems) process.stderr.write(`  ${p}\n`);
    process.exit(1);
  }
  process.stdout.write(`check-links: every relative and repository link in ${docs.length} documents resolves (${docs.join(', ')})\n`);
}
