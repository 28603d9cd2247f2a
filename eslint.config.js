// ESLint over every TypeScript file of the project (typed linting: each file is checked with the type
// information of the tsconfig that includes it) and over the two browser scripts in api/public/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Node's built-in modules, by their bare names: workflow code runs in Temporal's deterministic sandbox,
// where none of them may be imported (the `node:` prefix is banned by pattern below).
const nodeBuiltins = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'console',
  'constants',
  'crypto',
  'dgram',
  'diagnostics_channel',
  'dns',
  'domain',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'inspector',
  'module',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'punycode',
  'querystring',
  'readline',
  'repl',
  'stream',
  'string_decoder',
  'timers',
  'timers/promises',
  'tls',
  'trace_events',
  'tty',
  'url',
  'util',
  'v8',
  'vm',
  'wasi',
  'worker_threads',
  'zlib',
];

// The browser globals the storefront scripts use (there is no `globals` package among the dependencies).
const browserGlobals = Object.fromEntries(
  [
    'window',
    'document',
    'navigator',
    'location',
    'sessionStorage',
    'localStorage',
    'fetch',
    'console',
    'setTimeout',
    'clearTimeout',
    'CustomEvent',
    'Event',
    'URL',
    'URLSearchParams',
    'crypto',
    'HTMLElement',
    'Element',
    'AbortController',
    'Headers',
    'Response',
    'Request',
    'requestAnimationFrame',
    'Node',
    'HTMLScriptElement',
  ].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  {
    ignores: [
      'db/generated/**',
      'node_modules/**',
      '.tools/**',
      '.data/**',
      'dist/**',
      'test-artifacts/**',
      'reports/**',
      'docs/**',
      'test/gateways/specs/**',
      'test/replay-histories/**',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // The storefront script's declarations belong to tsconfig.browser.json, which the project service does not look for.
        projectService: { allowDefaultProject: ['api/public/*.d.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Off: Fastify plugins and hooks, Prisma's adapter factory and activity/gateway implementations are async by contract, awaiting or not.
      '@typescript-eslint/require-await': 'off',
      // Relaxed: a leading underscore marks a parameter a callback signature requires but this body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code is deterministic: no Node built-ins (use activities).' })),
          patterns: [{ group: ['node:*'], message: 'Workflow code is deterministic: no Node built-ins (use activities).' }],
        },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['api/public/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2022, sourceType: 'script', globals: browserGlobals },
  },
  {
    // This file itself (and any other plain config .js at the root) runs on Node as an ES module.
    files: ['eslint.config.js'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { console: 'readonly' } },
  },
);
