#!/usr/bin/env node
/**
 * The bootstrap app: `npx cdk deploy` gives Terraform a home in an account and
 * region. Settings come from context (`-c key=value`, see docs/deploying.md); with
 * none, it synthesizes an environment-agnostic stack that serves every account
 * and region.
 *
 * cdk-nag runs on every synth (AwsSolutions; with `-c profile=hardened` also
 * HIPAA Security, NIST 800-53 R5 and PCI DSS 3.2.1), and any finding, error or
 * warning, fails it.
 *
 * Everything it says to a person goes to stderr: `cdk synth` prints the
 * template on stdout.
 */
import { App } from 'aws-cdk-lib/core';
import { BootstrapStacks, buildBootstrapApp, ContextError, nagFindings, nextSteps } from './app';

const app = new App();
let stacks: BootstrapStacks | undefined;
try {
  stacks = buildBootstrapApp(app);
} catch (e) {
  if (!(e instanceof ContextError)) {
    throw e;
  }
  process.stderr.write(`${e.message}\n`);
  process.exitCode = 1;
}
if (stacks) {
  const assembly = app.synth();
  const findings = nagFindings(assembly);
  if (findings.length > 0) {
    process.stderr.write(`cdk-nag findings (the bootstrap app allows none):\n${findings.join('\n')}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(nextSteps(app, stacks, assembly));
  }
}
