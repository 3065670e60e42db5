#!/usr/bin/env node
/**
 * The bootstrap app: `npx cdk deploy` gives Terraform a home in an account and
 * region. Settings come from context (`-c key=value`, see README.md); with
 * none, it synthesizes an environment-agnostic stack that serves every account
 * and region.
 *
 * cdk-nag runs on every synth (AwsSolutions; with `-c profile=hardened` also
 * HIPAA Security, NIST 800-53 R5 and PCI DSS 3.2.1), and any finding, error or
 * warning, fails it.
 */
import { App } from 'aws-cdk-lib';
import { buildBootstrapApp, nagFindings } from './app';

const app = new App();
buildBootstrapApp(app);
const findings = nagFindings(app.synth());
if (findings.length > 0) {
  process.stderr.write(`cdk-nag findings (the bootstrap app allows none):\n${findings.join('\n')}\n`);
  process.exitCode = 1;
}
