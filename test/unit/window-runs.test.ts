/** Which accept runs hold a post-purchase window: only a run that has ended lets it go. */
import { describe, expect, it } from 'vitest';
import { acceptRunOf } from '../../activities/window.ts';

describe('acceptRunOf', () => {
  it('lets the window go only for a run that has ended', () => {
    for (const ended of ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW'] as const) expect(acceptRunOf(ended)).toBe('ended');
  });

  it('holds it for a running or paused run (a paused one may charge when it resumes), and for a status it does not know', () => {
    expect(acceptRunOf('RUNNING')).toBe('running');
    expect(acceptRunOf('PAUSED')).toBe('running');
    expect(acceptRunOf('UNKNOWN')).toBe('unknown');
    expect(acceptRunOf('UNSPECIFIED')).toBe('unknown');
  });
});
