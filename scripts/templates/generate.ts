/**
 * `npm run templates` (part of `npm run build`): writes templates/, the
 * backend's CloudFormation templates and their landing-zone entries, from the
 * constructs. The folder is emptied first, so a template that is no longer
 * made does not linger; `npm run check-generated` then proves the committed
 * copies are what this writes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthesizeTemplate, templateApp } from '../../lib/backend-template';
import { CATALOGUE, ROLLOUTS, templateFile } from './catalogue';
import { templatesIndex } from './index-file';
import {
  awsCliScript, cfctManifest, LANDING_ZONE_FILES, landingZoneDir, lzaCloudFormationStacks, lzaCloudFormationStackSets, TemplateShape,
} from './landing-zone';

export const TEMPLATES_DIR = path.resolve(__dirname, '..', '..', 'templates');

/** Every file of templates/, by its path relative to the folder, and its text. */
export function renderTemplates(): Map<string, string> {
  const out = new Map<string, string>();
  const templates: Record<string, TemplateShape> = {};
  const texts: Record<string, string> = {};
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'templates-'));
  try {
    for (const t of CATALOGUE) {
      const synthesized = synthesizeTemplate(t.build(templateApp(path.join(scratch, t.id))));
      if (synthesized.messages.length > 0) {
        throw new Error(`${t.id}: synthesis reported ${synthesized.messages.map((m) => `${m.level}: ${String(m.entry.data)}`).join('; ')}`);
      }
      templates[t.id] = synthesized.template as unknown as TemplateShape;
      texts[t.id] = synthesized.text;
      out.set(templateFile(t.id), synthesized.text);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  for (const rollout of ROLLOUTS) {
    const input = { rollout, templates };
    const dir = landingZoneDir(rollout);
    out.set(`${dir}/${LANDING_ZONE_FILES.cfct}`, cfctManifest(input));
    out.set(`${dir}/${LANDING_ZONE_FILES.lzaStacks}`, lzaCloudFormationStacks(input));
    out.set(`${dir}/${LANDING_ZONE_FILES.lzaStackSets}`, lzaCloudFormationStackSets(input));
    out.set(`${dir}/${LANDING_ZONE_FILES.awsCli}`, awsCliScript(input));
  }
  out.set('index.json', `${JSON.stringify(templatesIndex(templates, texts), undefined, 2)}\n`);
  return out;
}

function main(): void {
  const files = renderTemplates();
  fs.rmSync(TEMPLATES_DIR, { recursive: true, force: true });
  for (const [file, text] of files) {
    const target = path.join(TEMPLATES_DIR, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text, { mode: file.endsWith('.sh') ? 0o755 : 0o644 });
  }
  process.stdout.write(`templates: wrote ${files.size} files to ${path.relative(process.cwd(), TEMPLATES_DIR) || '.'}/\n`);
}

if (require.main === module) {
  main();
}
