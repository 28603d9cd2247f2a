/**
 * The workflow bundle holds only what workflows need. Everything a workflow imports is evaluated
 * again for each workflow run (the SDK's per-workflow module cache in its reusable V8 context), so
 * a schema library pulled in through a contract module costs CPU on every accept. The API's schemas
 * (TypeBox) stay out: workflows import the schema-free contract modules.
 */
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH, WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/worker.ts';

/** Packages the SDK itself bundles into every workflow bundle. */
const SDK_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common', 'long', 'ms', 'nexus-rpc']);

describe('workflow bundle', () => {
  it('holds our workflow modules and the SDK, and no schema library', async () => {
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: new DefaultLogger('WARN') });
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
  });
});
