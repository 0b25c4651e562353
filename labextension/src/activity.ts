/**
 * What a person is doing, in words. The server decides the kind
 * (`activity`: editing, viewing, active, idle; contract item 2); a server
 * without that field gets the older guess from edits and `current`.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { Activity, IPerson } from './api';
import { parseTime } from './common';

function activityOf(person: IPerson): Activity {
  if (person.activity) {
    return person.activity;
  }
  const doc = person.current
    ? person.documents.find(d => d.path === person.current)
    : undefined;
  if (doc && doc.edits_recent > 0) {
    return 'editing';
  }
  return person.current ? 'viewing' : 'idle';
}

/**
 * "editing cell 3", "viewing, cursor in cell 2", "active", "idle 4 min".
 * The document is named once, on the row's own line (`.rtc-Doc`).
 */
export function describeActivity(
  person: IPerson,
  now: number,
  cellIndex: number | null,
  trans: TranslationBundle
): string {
  const cell = cellIndex !== null ? cellIndex + 1 : null;
  switch (activityOf(person)) {
    case 'editing':
      return cell !== null
        ? trans.__('editing cell %1', cell)
        : trans.__('editing');
    case 'viewing':
      return cell !== null
        ? trans.__('viewing, cursor in cell %1', cell)
        : trans.__('viewing');
    case 'active':
      return trans.__('active');
    default: {
      const last =
        parseTime(person.last_activity) ?? parseTime(person.joined_at);
      const minutes = last
        ? Math.max(0, Math.floor((now - last.getTime()) / 60000))
        : 0;
      return minutes < 1
        ? trans.__('idle < 1 min')
        : trans.__('idle %1 min', minutes);
    }
  }
}
