/**
 * templates/index.json: which file is which configuration, for tools that
 * deploy the templates (the CLI package ships templates/ and reads this to
 * pick a file): the choices each file stands for, its parameters, the logical
 * IDs of its outputs, the discovery parameters it publishes, what must be
 * deployed first, and the capabilities it needs.
 */
import { PARAMETER } from '../../lib/private/template-parameters';
import { CATALOGUE, ROLLOUTS, templateFile } from './catalogue';
import { capabilities, LANDING_ZONE_FILES, landingZoneDir, TemplateShape } from './landing-zone';

interface OutputShape { readonly Outputs?: Record<string, unknown> }
interface SsmShape { readonly Type: string; readonly Properties?: { Name?: { 'Fn::Join'?: [string, unknown[]] } } }

/** An output's role: its logical ID without the construct's prefix and the hash (`BackendBackendBlockEE9B57AD` -> `BackendBlock`). */
function outputRoles(template: OutputShape): Record<string, string> {
  return Object.fromEntries(Object.keys(template.Outputs ?? {}).map((id) => [id.replace(/^(Backend|Replica)/, '').replace(/[0-9A-F]{8}$/, ''), id]));
}

/** The names of the discovery parameters, after the prefix. */
function discoveryNames(template: TemplateShape): string[] {
  return Object.values(template.Resources as Record<string, SsmShape>)
    .filter((r) => r.Type === 'AWS::SSM::Parameter')
    .map((r) => {
      const parts = r.Properties?.Name?.['Fn::Join']?.[1] ?? [];
      const last = parts[parts.length - 1];
      if (typeof last !== 'string') throw new Error('a discovery parameter\'s name does not end in a literal');
      return last;
    });
}

export function templatesIndex(templates: Record<string, TemplateShape>, texts: Record<string, string>) {
  return {
    description: 'The CloudFormation templates of cdk-terraform-state-backend, generated from the constructs by `npm run templates`. ' +
      'Each file is one configuration; its parameters are what differs per account or OU. A deployFirst template is deployed ' +
      'before the backend, in the region its regionParameter names; with perBackend, once for every backend stack (account and ' +
      'region), each of its parametersFromBackend given the backend\'s value of the named parameter (AWS::Region: the backend stack\'s region).',
    templates: CATALOGUE.map((t) => {
      const template = templates[t.id];
      return {
        file: templateFile(t.id),
        kind: t.kind,
        profile: t.profile,
        ...(t.locking ? { locking: t.locking } : {}),
        encryption: t.encryption,
        replicated: t.replicated,
        ...(t.deployFirst ? {
          deployFirst: {
            file: templateFile(t.deployFirst),
            // In the region of the backend's ReplicaRegion, once for every backend (each account and region): each
            // replica is one backend's, its names derived from the backend's values of these parameters.
            regionParameter: PARAMETER.replicaRegion,
            perBackend: true,
            parametersFromBackend: { [PARAMETER.sourceRegion]: 'AWS::Region', [PARAMETER.sourceBucketName]: PARAMETER.bucketName },
          },
        } : {}),
        bytes: Buffer.byteLength(texts[t.id], 'utf8'),
        capabilities: capabilities(template),
        nagPacks: t.nagPacks,
        parameters: Object.entries(template.Parameters ?? {}).map(([name, p]) => ({
          name, type: p.Type, ...(p.Default === undefined ? { required: true } : { default: p.Default }),
        })),
        outputs: outputRoles(template as OutputShape),
        discoveryParameters: discoveryNames(template),
      };
    }),
    rollouts: ROLLOUTS.map((r) => ({
      id: r.id,
      templates: r.templates.map((t) => templateFile(t.id)),
      landingZone: Object.fromEntries(Object.entries(LANDING_ZONE_FILES).map(([k, f]) => [k, `${landingZoneDir(r)}/${f}`])),
    })),
  };
}
