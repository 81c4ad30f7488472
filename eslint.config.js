// Lint is mostly about determinism: STYLE.md bans, inside src/contracts, everything that could
// make two nodes compute different results from the same blocks.
import tseslint from 'typescript-eslint';

const NONDETERMINISTIC_GLOBALS = [
  'Date',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'queueMicrotask',
  'Intl',
  'process',
  'fetch',
  'performance',
  'crypto',
  'SharedArrayBuffer',
  'Atomics',
  'WeakRef',
  'FinalizationRegistry',
].map((name) => ({
  name,
  message: `${name} is nondeterministic or does I/O; contracts take time only from the block header.`,
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'tmp/**', 'web/dist/**', 'bench-data/**'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    // Type-aware: each file is checked with its own tsconfig (the root one, or web/'s). The
    // lint's own tests check snippets as src/<layer>/lint-example.ts, a file that never exists.
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        projectService: { allowDefaultProject: ['web/vite.config.ts', 'src/*/lint-example.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A promise nobody awaits loses its rejection; node:test's test() is the known exception.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/only-throw-error': 'error',
      // A switch over a closed union names every member, or says what the rest get with default.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      'no-debugger': 'error',
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always'],
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.property.name=/^(only|skip)$/][callee.object.name=/^(test|it|describe)$/]',
          message: 'No focused or skipped tests.',
        },
      ],
    },
  },
  {
    // Node 20 can deadlock exporting a key that a key-generation job made; every key pair is
    // generated already encoded, in one place.
    files: ['**/*.ts'],
    ignores: ['src/crypto/key-generation.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:crypto',
              importNames: ['generateKeyPair', 'generateKeyPairSync'],
              message: 'Use generatePemKeyPair (src/crypto/key-generation.ts).',
            },
            {
              name: 'crypto',
              importNames: ['generateKeyPair', 'generateKeyPairSync'],
              message: 'Use generatePemKeyPair (src/crypto/key-generation.ts).',
            },
            {
              name: 'jose',
              importNames: ['generateKeyPair'],
              message: 'Use generateJoseKeyPair (src/api/auth/jose-keys.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/contracts/**/*.ts'],
    ignores: ['src/contracts/**/*.test.ts'],
    rules: {
      'no-restricted-globals': ['error', ...NONDETERMINISTIC_GLOBALS],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Math.random is nondeterministic.' },
        { object: 'crypto', property: 'randomUUID', message: 'Ids come from transaction hashes.' },
        {
          property: 'localeCompare',
          message: 'localeCompare depends on the host locale; compare code units.',
        },
        {
          object: 'Object',
          property: 'entries',
          message: 'Iteration order came from input; sort keys first.',
        },
        {
          object: 'Object',
          property: 'values',
          message: 'Iteration order came from input; sort keys first.',
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: ':function[async=true]', message: 'Contracts are synchronous.' },
        { selector: 'AwaitExpression', message: 'Contracts are synchronous.' },
        { selector: 'ForInStatement', message: 'for…in iterates in input order; sort keys first.' },
        {
          selector: 'Literal[raw=/^[0-9]*\\.[0-9]/]',
          message: 'No floating point in contract state.',
        },
        {
          selector: 'Literal[raw=/^[0-9]+[eE]-/]',
          message: 'No floating point in contract state.',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:*',
                '!node:assert',
                '!node:assert/strict',
                'fs',
                'os',
                'net',
                'http',
                'child_process',
                'worker_threads',
                'timers',
              ],
              message: 'Contracts do no I/O; use src/crypto for hashing.',
            },
            {
              group: ['better-sqlite3', 'fastify', 'etcd3'],
              message: 'Contracts depend only on src/crypto and src/ledger.',
            },
          ],
        },
      ],
    },
  },
);
