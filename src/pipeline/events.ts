// What the pipeline says while it works. Every operation takes one callback (`onProgress` on
// fetch, `onEvent` elsewhere) and never writes to stdout or stderr itself: the CLI renders these
// events (src/cli/progress.ts), `kdbg watch` logs them, a library user does what they like.
// The event union itself is plain data in core/types.ts, so stages emit the same kinds.

import type { PipelineStage, ProgressEvent, ProgressListener } from '../core/types.js';

export type PipelineEvent = ProgressEvent;
export type PipelineListener = ProgressListener;
export type { PipelineStage };

export const ignoreEvents: PipelineListener = () => undefined;

/** Run `body` as the named stage: a start event, then a done event with its duration. */
export async function stage<T>(emit: PipelineListener, release: string, name: PipelineStage, body: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  emit({ kind: 'stage', release, stage: name });
  const out = await body();
  emit({ kind: 'stage', release, stage: name, ms: Date.now() - t0 });
  return out;
}
