/**
 * The workflow bundle holds only what workflows need, and what every run shares keeps no state.
 * - The API's schemas (TypeBox) stay out: workflows import the schema-free contract modules.
 * - The worker preloads our workflow modules and what they import (worker/worker.ts), so the SDK's
 *   reusable V8 context evaluates them once and every run shares them, where it would evaluate them
 *   again for each run. A module-level variable or collection there would be shared between runs
 *   (the SDK freezes shared objects, but not a Map's or a Set's contents): none is allowed.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH, WORKFLOW_BUNDLE_OPTIONS } from '../../worker/worker.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * A top-level `let` or `var`, or a top-level collection or empty literal (the shapes a cache or a
 * counter takes), in one of our modules' sources. It cannot see state hidden in a closure or a class's
 * static field: those stay a matter for review.
 */
const MODULE_STATE = /^(?:export\s+)?(?:(?:let|var)\s|const\s+\w+\s*(?::[^\n]*?)?=\s*(?:new\s+(?:Map|Set|WeakMap|WeakSet|Array)\b|\[\s*\]|\{\s*\}))/m;

/** Packages the SDK itself bundles into every workflow bundle. */
const SDK_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common', 'long', 'ms', 'nexus-rpc']);

describe('workflow bundle', () => {
  it('holds our workflow modules and the SDK, and no schema library', async () => {
    const { code } = await bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: new DefaultLogger('WARN') });
    const modules = [...code.matchAll(/^\/\*\*\*\/ "\.\/([^"]+)"/gm)].map((m) => m[1]!);
    expect(modules.length).toBeGreaterThan(10);
    const packages = new Set(
      modules
        .filter((m) => m.startsWith('node_modules/'))
        .map((m) =>
          m
            .split('/')
            .slice(1, m.split('/')[1]!.startsWith('@') ? 3 : 2)
            .join('/'),
        ),
    );
    expect([...packages].filter((p) => !SDK_PACKAGES.has(p))).toEqual([]);
    const ours = modules.filter((m) => !m.startsWith('node_modules/'));
    expect(ours).toContain('workflows/acceptUpsell.ts');
    expect(ours.filter((m) => !/^(workflows|contract|worker)\//.test(m))).toEqual([]);
    // The contract modules that define schemas are the API's; workflows take the schema-free ones.
    expect(ours.filter((m) => /^contract\/(accept|failures|refunds|records|money|ids)\.ts$/.test(m))).toEqual([]);

    // Preloaded: the workflows' entry (with all it imports) and the interceptor module.
    const preload = code.slice(code.indexOf('exports.preloadModules = function preloadModules()'), code.indexOf('exports.importWorkflows'));
    expect([...preload.matchAll(/__webpack_require__\([^)]*"\.\/([^"]+)"\)/g)].map((m) => m[1])).toEqual(['workflows/index.ts', 'worker/workflow-log-context.ts']);
    expect(WORKFLOW_BUNDLE_OPTIONS.preloadModules).toEqual([WORKFLOWS_PATH, ...WORKFLOW_BUNDLE_OPTIONS.workflowInterceptorModules]);
    const stateful = ours.filter((m) => MODULE_STATE.test(readFileSync(`${ROOT}${m}`, 'utf8')));
    expect(stateful).toEqual([]);
  });

  it('the module-state check finds a top-level variable or collection, and passes constants', () => {
    expect(MODULE_STATE.test('import x from "y";\nlet count = 0;\n')).toBe(true);
    expect(MODULE_STATE.test('export var seen = 1;')).toBe(true);
    expect(MODULE_STATE.test('const cache: Map<string, number> = new Map();')).toBe(true);
    expect(MODULE_STATE.test('const FINAL = new Set([1]);')).toBe(true);
    expect(MODULE_STATE.test('const handlers: Map<string, () => void> = new Map();')).toBe(true);
    expect(MODULE_STATE.test('const seen: Record<string, true> = {};')).toBe(true);
    expect(MODULE_STATE.test('export const queue: string[] = [];')).toBe(true);
    expect(MODULE_STATE.test("const FINAL: readonly string[] = ['a'];\nconst retry = { maximumAttempts: 3 };\nfunction f() {\n  let inside = 1;\n}")).toBe(false);
  });
});
