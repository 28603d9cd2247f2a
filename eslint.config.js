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

// Layering, enforced: workflows and activities share only the contract (contract/), the API speaks
// to workflows through their messages modules only, and route files share nothing with each other
// (shared bits live in api/ modules or contract/).
const noActivitiesInWorkflows = {
  group: ['**/activities', '**/activities/*'],
  allowTypeImports: true,
  message: 'Workflows import activities as types only (proxyActivities<typeof ...>); shared shapes live in contract/.',
};
const noWorkflowsInActivities = {
  group: ['**/workflows', '**/workflows/*'],
  message: 'Activities do not import workflow code; shared shapes live in contract/.',
};
const apiLayers = [
  {
    group: ['**/workflows/*', '!**/workflows/messages.ts', '!**/workflows/*-messages.ts'],
    message: 'The API speaks to workflows through their message modules (workflows/messages.ts, workflows/*-messages.ts) only, never their bodies.',
  },
  { group: ['**/activities', '**/activities/*'], message: 'The API does not import activities: use db/, gateways/ or contract/.' },
];
const noRouteToRoute = (except = []) => ({
  group: ['./*', '../routes/*', ...except.map((name) => `!./${name}`)],
  message: 'Route files do not import each other: move what they share to an api/ module or contract/.',
});

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
    files: ['workflows/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [noActivitiesInWorkflows] }] },
  },
  {
    files: ['activities/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [noWorkflowsInActivities] }] },
  },
  {
    files: ['api/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: apiLayers }] },
  },
  {
    files: ['api/routes/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [...apiLayers, noRouteToRoute()] }] },
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
