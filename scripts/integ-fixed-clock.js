// Preloaded (`node --require`) by integ-snapshot.js into the integ app it
// synthesizes: integ-tests-alpha salts every assertion with `Date.now()` so that
// it runs again on each deploy, which makes each synth differ. A snapshot must
// not: with a fixed clock the salts, and the asset hashes of the templates that
// hold them, are the same on every run. Real deployments do not load this file.
const FIXED_NOW = Date.UTC(2026, 0, 1);
Date.now = () => FIXED_NOW;
