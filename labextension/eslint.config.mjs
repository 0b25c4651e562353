// ESLint flat config (ESLint 9) for the rtc-presence labextension.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['lib/', 'node_modules/', '.yarn/', '**/*.d.ts', 'style/index.js']
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.{ts,tsx}'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: {
        project: './tsconfig.json',
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: { regex: '^I[A-Z]', match: true }
        }
      ],
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      eqeqeq: 'error',
      'prefer-arrow-callback': 'error',
      curly: ['error', 'all'],
      'no-restricted-properties': [
        'error',
        {
          property: 'innerHTML',
          message: 'Render user text with textContent or React.'
        },
        {
          property: 'outerHTML',
          message: 'Render user text with textContent or React.'
        }
      ]
    }
  },
  {
    files: ['*.mjs', '*.js'],
    languageOptions: { globals: { ...globals.node } }
  },
  prettier
);
