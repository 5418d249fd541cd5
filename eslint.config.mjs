// Flat config: typescript-eslint's recommended rules over the whole tree, plus the type-aware rules
// that matter for async stream code (a dropped promise is a lost write or an unhandled rejection).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', 'coverage/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The domain does no I/O and knows no AWS SDK or runtime library: adapters in functions/ do.
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@aws-sdk/*', '@smithy/*', '@aws-lambda-powertools/*'],
              message: 'AWS access lives in adapters (functions/commons).',
            },
            {
              group: [
                'node:fs',
                'node:fs/*',
                'node:net',
                'node:http',
                'node:https',
                'node:child_process',
                'fs',
                'net',
              ],
              message: 'The domain does no I/O.',
            },
            {
              group: ['onnxruntime-node', '@tensorflow/*'],
              message: 'Runtimes sit behind ports (functions/commons, functions/train).',
            },
            {
              group: ['**/infra/**', '**/functions/**', '**/test/**'],
              message: 'shared/ depends on nothing outside it.',
            },
          ],
        },
      ],
    },
  },
);
