// typescript-eslint type-checked rules plus the architecture rules of docs/architecture.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import boundaries from 'eslint-plugin-boundaries';
import layers from './eslint.layers.cjs';
import { rawAccessOverrides, rawAccessRule } from './eslint.raw-access.mjs';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**', 'bin/**', '*.js', '*.mjs', '*.cjs', 'test/support/*.js', 'test/support/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
        emitDecoratorMetadata: true,
        experimentalDecorators: true,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Files with decorators are skipped by this rule (emitDecoratorMetadata needs value imports there).
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'dockerode', message: 'Only src/runtime/docker may talk to the Docker engine.' },
            { name: '@nestjs/common', importNames: ['forwardRef'], message: 'Modules form a DAG: no forwardRef.' },
          ],
          patterns: [{ group: ['../*', './*'], message: 'Use absolute src/ imports.' }],
        },
      ],
    },
  },
  // Layers, lowest first (docs/architecture.md): a lower layer importing a higher one fails.
  layers.layersConfig(boundaries),
  // Tenant scoping (docs/architecture.md): raw repositories and queries only where the allow-list says why.
  { files: ['src/**/*.ts'], ignores: ['src/**/*.spec.ts'], rules: { 'no-restricted-syntax': rawAccessRule() } },
  ...rawAccessOverrides(),
  {
    files: ['src/runtime/docker/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*', './*'], message: 'Use absolute src/ imports.' }] }],
    },
  },
  {
    files: ['src/**/*.controller.ts', 'src/mcp/tools/**/*.ts', 'src/cli/commands/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'typeorm', message: 'Front ends call services; they never touch the database.' },
            { name: 'dockerode', message: 'Only src/runtime/docker may talk to the Docker engine.' },
          ],
          patterns: [{ group: ['../*', './*'], message: 'Use absolute src/ imports.' }],
        },
      ],
    },
  },
  {
    files: ['src/mcp/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      'no-restricted-imports': 'off',
    },
  },
);
