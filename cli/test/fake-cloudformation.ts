/**
 * An in-memory CloudFormation for `bootstrap`'s unit tests: stacks with parameters,
 * resources, outputs and events, and change sets whose Changes a test sets, because what
 * matters most here is what moto_server cannot show: moto's DescribeChangeSet lists only
 * Action, LogicalResourceId and ResourceType (no Replacement, no PhysicalResourceId), and a
 * changed parameter such as BucketName lists no change at all.
 */
import { ResourceChange } from '../src/change-set';
import { awsFault, SentCommand } from './fake-aws';

export interface FakeEvent {
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  readonly ResourceStatus: string;
  readonly ResourceStatusReason?: string;
}

export interface FakeStack {
  name: string;
  id: string;
  status: string;
  parameters: Array<{ ParameterKey: string; ParameterValue: string }>;
  resources: Array<{ LogicalResourceId: string; PhysicalResourceId: string; ResourceType: string }>;
  template: string;
  outputs?: Array<{ OutputKey: string; OutputValue: string }>;
  events: Array<FakeEvent & { EventId: string; Timestamp: Date; StackName: string }>;
  tags?: Array<{ Key: string; Value: string }>;
}

interface FakeChangeSet {
  readonly name: string;
  readonly stack: string;
  readonly type: string;
  readonly input: Record<string, any>;
  status: string;
  reason?: string;
  changes: ResourceChange[];
}

export const FAKE_ACCOUNT = '111122223333';

export class FakeCloudFormation {
  readonly sent: SentCommand[] = [];
  readonly stacks = new Map<string, FakeStack>();
  readonly changeSets = new Map<string, FakeChangeSet>();
  /** What a change set lists; default: every template resource added for CREATE, nothing (and "didn't contain changes") for UPDATE. */
  changesFor?: (input: Record<string, any>, stack: FakeStack | undefined) => ResourceChange[];
  /** What executing does: the events it adds and the status it ends in; default: every resource made, *_COMPLETE. */
  onExecute?: (stack: FakeStack, changeSet: FakeChangeSet) => { events: FakeEvent[]; status: string };
  /** Errors to throw, by command name (`CreateChangeSetCommand`). */
  readonly failWith: Record<string, Error> = {};
  readonly config: { region: () => Promise<string> };
  private seq = 0;

  constructor(readonly region = 'eu-west-1') {
    this.config = { region: async () => this.region };
  }

  calls(name: string): SentCommand[] {
    return this.sent.filter((c) => c.name === name);
  }

  /** A stack as `cdk deploy` of the app or an earlier bootstrap left it. */
  addStack(stack: Partial<FakeStack> & Pick<FakeStack, 'name' | 'template'>): FakeStack {
    const full: FakeStack = {
      id: `arn:aws:cloudformation:${this.region}:${FAKE_ACCOUNT}:stack/${stack.name}/0000`,
      status: 'CREATE_COMPLETE', parameters: [], resources: [], events: [], ...stack,
    };
    this.stacks.set(stack.name, full);
    return full;
  }

  private event(stack: FakeStack, e: FakeEvent): void {
    stack.events.unshift({ ...e, EventId: `e${++this.seq}`, Timestamp: new Date(Date.UTC(2026, 10, 26, 12, 0, this.seq)), StackName: stack.name });
  }

  async send(command: { constructor: { name: string }; input: Record<string, any> }): Promise<any> {
    const name = command.constructor.name;
    const input = command.input;
    this.sent.push({ name, input });
    if (this.failWith[name]) throw this.failWith[name];
    const stack = this.stacks.get(input.StackName);
    const missing = () => awsFault('ValidationError', 400, `Stack with id ${input.StackName} does not exist`);
    switch (name) {
      case 'DescribeStacksCommand':
        if (!stack) throw missing();
        return {
          Stacks: [{
            StackName: stack.name, StackId: stack.id, StackStatus: stack.status,
            Parameters: stack.parameters, Outputs: stack.outputs, Tags: stack.tags,
          }],
        };
      case 'ListStackResourcesCommand':
        if (!stack) throw missing();
        return { StackResourceSummaries: stack.resources.map((r) => ({ ...r, ResourceStatus: 'CREATE_COMPLETE' })) };
      case 'GetTemplateCommand':
        if (!stack) throw missing();
        return { TemplateBody: stack.template };
      case 'DescribeStackEventsCommand':
        if (!stack) throw missing();
        return { StackEvents: stack.events };
      case 'CreateChangeSetCommand': {
        let target = stack;
        if (input.ChangeSetType === 'CREATE') {
          if (stack && stack.status !== 'REVIEW_IN_PROGRESS') throw awsFault('AlreadyExistsException', 400, `Stack [${input.StackName}] already exists`);
          target = stack ?? this.addStack({ name: input.StackName, template: '{}', status: 'REVIEW_IN_PROGRESS' });
        } else if (!stack) {
          throw missing();
        }
        const template = JSON.parse(input.TemplateBody);
        const changes = this.changesFor ? this.changesFor(input, stack)
          : input.ChangeSetType === 'CREATE'
            ? Object.entries<any>(template.Resources).map(([id, r]) => ({ Action: 'Add', LogicalResourceId: id, ResourceType: r.Type }))
            : [];
        const cs: FakeChangeSet = {
          name: input.ChangeSetName, stack: target!.name, type: input.ChangeSetType, input, changes,
          status: changes.length === 0 ? 'FAILED' : 'CREATE_COMPLETE',
          reason: changes.length === 0 ? 'The submitted information didn\'t contain changes. Submit different information or confirm the template.' : undefined,
        };
        this.changeSets.set(cs.name, cs);
        return { Id: `arn:aws:cloudformation:${this.region}:${FAKE_ACCOUNT}:changeSet/${cs.name}/1`, StackId: target!.id };
      }
      case 'DescribeChangeSetCommand': {
        const cs = this.changeSets.get(input.ChangeSetName);
        if (!cs) throw awsFault('ChangeSetNotFoundException', 404, `ChangeSet [${input.ChangeSetName}] does not exist`);
        return { ChangeSetName: cs.name, Status: cs.status, StatusReason: cs.reason, Changes: cs.changes.map((c) => ({ Type: 'Resource', ResourceChange: c })) };
      }
      case 'DeleteChangeSetCommand':
        this.changeSets.delete(input.ChangeSetName);
        return {};
      case 'DeleteStackCommand':
        this.stacks.delete(input.StackName);
        return {};
      case 'ExecuteChangeSetCommand': {
        const cs = this.changeSets.get(input.ChangeSetName);
        if (!cs || !stack) throw awsFault('ChangeSetNotFoundException', 404, 'no such change set');
        const verb = cs.type === 'CREATE' ? 'CREATE' : 'UPDATE';
        const template = JSON.parse(cs.input.TemplateBody);
        const outcome = this.onExecute?.(stack, cs) ?? {
          events: Object.entries<any>(template.Resources).map(([id, r]) => ({ LogicalResourceId: id, ResourceType: r.Type, ResourceStatus: `${verb}_COMPLETE` })),
          status: `${verb}_COMPLETE`,
        };
        this.event(stack, { LogicalResourceId: stack.name, ResourceType: 'AWS::CloudFormation::Stack', ResourceStatus: `${verb}_IN_PROGRESS`, ResourceStatusReason: 'User Initiated' });
        for (const e of outcome.events) this.event(stack, e);
        this.event(stack, { LogicalResourceId: stack.name, ResourceType: 'AWS::CloudFormation::Stack', ResourceStatus: outcome.status });
        stack.status = outcome.status;
        if (/_COMPLETE$/.test(outcome.status) && !/ROLLBACK/.test(outcome.status)) {
          stack.template = cs.input.TemplateBody;
          const given = new Map<string, any>((cs.input.Parameters ?? []).map((p: any) => [p.ParameterKey, p]));
          stack.parameters = Object.entries<any>(template.Parameters ?? {}).map(([k, p]) => {
            const g = given.get(k);
            const before = stack.parameters.find((x) => x.ParameterKey === k)?.ParameterValue;
            return { ParameterKey: k, ParameterValue: g?.UsePreviousValue ? before! : g?.ParameterValue ?? String(p.Default ?? '') };
          });
          const value = (k: string) => stack.parameters.find((x) => x.ParameterKey === k)?.ParameterValue;
          stack.resources = Object.entries<any>(template.Resources).map(([id, r]) => ({
            LogicalResourceId: id, ResourceType: r.Type,
            PhysicalResourceId: id === 'BackendStateBucketBF5F84A2' ? (value('BucketName') || `terraform-state-${FAKE_ACCOUNT}-${this.region}`)
              : id === 'BackendLockTable5C1C0CEA' ? value('LockTableName')! : `${id.toLowerCase()}-physical`,
          }));
        }
        cs.status = 'EXECUTE_COMPLETE';
        return {};
      }
      default:
        throw new Error(`FakeCloudFormation does not know ${name}`);
    }
  }
}
