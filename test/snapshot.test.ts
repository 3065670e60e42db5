import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TerraformStateBackendStack } from '../lib';

// A net under the fine-grained assertions: any change to the default stack's
// template shows up here. Update it deliberately (`npx jest -u test/snapshot.test.ts`)
// and say why in the commit message.
test('default stack template', () => {
  const app = new App();
  const stack = new TerraformStateBackendStack(app, 'TerraformStateBackend');
  expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
});
