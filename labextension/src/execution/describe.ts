/** Timeline entries and running cells in words. */
import { TranslationBundle } from '@jupyterlab/translation';

import { IRunning } from '../api';
import { baseName } from '../common';
import { IActivityEvent } from './types';

/** "running cell 3 of analysis.ipynb" (`cellNumber`: 1-based, when known here). */
export function describeRunning(
  running: IRunning,
  cellNumber: number | null,
  trans: TranslationBundle
): string {
  const doc = running.path ? baseName(running.path) : trans.__('a kernel');
  return cellNumber !== null
    ? trans.__('running cell %1 of %2', cellNumber, doc)
    : trans.__('running code in %1', doc);
}

/** One timeline line, without the person's name and time. */
export function describeEvent(
  event: IActivityEvent,
  trans: TranslationBundle
): string {
  const doc = event.path ? baseName(event.path) : trans.__('a kernel');
  switch (event.kind) {
    case 'join':
      return trans.__('joined');
    case 'leave':
      return trans.__('left');
    case 'execute': {
      const line = event.code_first_line ? `: ${event.code_first_line}` : '';
      const status =
        event.status === 'running'
          ? trans.__('running')
          : event.status === 'ok'
            ? trans.__('ran')
            : trans.__('ran (%1)', event.status ?? '?');
      return `${status} ${trans.__('a cell of %1', doc)}${line}`;
    }
    case 'interrupt':
      return trans.__('interrupted the kernel of %1', doc);
    case 'restart':
      return trans.__('restarted the kernel of %1', doc);
    case 'shutdown':
      return trans.__('shut down the kernel of %1', doc);
    case 'terminal':
      return trans.__('opened a terminal');
    case 'revoked':
      return trans.__('was revoked by %1', event.by ?? '?');
    case 'access_changed':
      return trans.__('now has access: %1', event.access ?? '?');
    default:
      return event.kind;
  }
}
