// ESLint flat config: correctness (ESLint + typescript-eslint), CDK conventions
// (eslint-plugin-awscdk, on the library only) and formatting (@stylistic), so one
// tool checks both code and style. `npm run lint` checks; `npm run lint:fix` fixes
// what can be fixed automatically.
import eslint from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import awscdk from 'eslint-plugin-awscdk';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// House style: 2-space indent, single quotes, semicolons, lines up to 150.
const style = stylistic.configs.customize({
  indent: 2,
  quotes: 'single',
  semi: true,
  braceStyle: '1tbs',
  commaDangle: 'always-multiline',
  arrowParens: true,
  quoteProps: 'as-needed',
  jsx: false,
});

export default defineConfig([
  globalIgnores([
    'node_modules/',
    'dist/',
    'cdk.out/',
    'coverage/',
    '**/*.d.ts',
    // jsii writes compiled JavaScript next to the sources.
    'lib/**/*.js',
    'bin/**/*.js',
    'test/**/*.js',
    'test/**/*.snapshot/',
    // The CLI package's compiled output.
    'cli/dist/',
  ]),
  {
    files: ['**/*.{ts,js,mjs,cjs}'],
    extends: [eslint.configs.recommended, style],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@stylistic/max-len': ['error', {
        code: 150,
        ignoreUrls: true,
        ignoreStrings: true,
        ignoreTemplateLiterals: true,
        ignoreRegExpLiterals: true,
      }],
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'always' }],
      // The code breaks long concatenations both before and after the operator.
      '@stylistic/operator-linebreak': 'off',
      // Quote all keys of an object when one needs quotes (e.g. a context object with feature flags).
      '@stylistic/quote-props': ['error', 'consistent-as-needed'],
      '@stylistic/multiline-ternary': 'off',
      '@stylistic/max-statements-per-line': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The root module's declarations are about 2,800 files, which every TypeScript
      // program that sees one such import reads (jsii, the stripped declarations, lint's
      // type information, check-pack's consumer compile); 'aws-cdk-lib/core' and the
      // service modules are about 800. The same classes: the root re-exports core.
      'no-restricted-imports': ['error', {
        paths: [{ name: 'aws-cdk-lib', message: "Import from 'aws-cdk-lib/core' (Stack, App, Duration, ...) or the service module ('aws-cdk-lib/aws-s3')." }],
      }],
    },
  },
  {
    // The published library: CDK construct conventions, with type information.
    files: ['lib/**/*.ts'],
    extends: [awscdk.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Reports `constructor(scope: Construct, id: string, props: XProps = {})`, the
      // aws-cdk-lib signature for all-optional props, because of the default value.
      'awscdk/construct-constructor-property': 'off',
    },
  },
  {
    // The build steps: functions that make constructs in the caller's scope, under
    // the caller's ID or the fixed IDs the templates have always had. The two
    // internal modules made of the public constructs (the imported backend, the
    // templates) sit beside them in lib/, since lib/private/ imports no construct file.
    files: ['lib/private/**/*.ts', 'lib/imported-backend.ts', 'lib/backend-template.ts'],
    rules: {
      'awscdk/require-passing-this': 'off',
      'awscdk/no-variable-construct-id': 'off',
    },
  },
  {
    // Tests read synthesized templates, which are untyped JSON; the CLI's fake AWS clients take untyped commands.
    files: ['test/**/*.ts', 'cli/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['scripts/**/*.js', 'jest.config.js', 'cli/bin/*.js', 'cli/scripts/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly' },
    },
  },
]);
