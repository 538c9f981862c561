// ESLint with typescript-eslint's type-aware rules: the bugs that cost this project most are
// promises nobody awaits (a page recorded after its document ended, a rejection that kills the
// process) and values typed `any` at its edges (job payloads, JSON bodies), and only the type
// checker sees those. Formatting is Prettier's alone (eslint-config-prettier turns off the rules
// that would argue with it).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', 'data/**', 'scratch/**'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `void promise` is how this code says "started on purpose, its errors handled inside".
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          ignoreVoid: true,
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      // Express 5 and node:http take async handlers and await what they return; a callback that
      // returns a promise anywhere else is still reported.
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      // A `let` assigned once but read first by a closure (a probe that reports on what starts later)
      // cannot be a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Unused arguments keep the signature a library calls with (`(_job, err) => …`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true, caughtErrors: 'none' },
      ],
      // Template literals print numbers and errors in messages on purpose; objects are still caught.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
    },
  },
  {
    // Plain JavaScript (set-up, build and test-runner scripts, the CLI's launcher, the tesseract.js
    // thread) is not in any tsconfig: linted without type information, with Node's globals.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
