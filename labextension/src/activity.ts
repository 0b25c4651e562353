/**
 * What a person is doing, in words. The server decides the kind
 * (`activity`: editing, viewing, active, idle; contract item 2); a server
 * without that field gets the older guess from edits and `current`.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { Activity, IPerson } from './api';
import { baseName, parseTime } from './common';

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
 * "editing cell 3 of a.ipynb", "viewing a.ipynb", "active, no document
 * open", "idle 4 min in a.ipynb": the document is named once.
 */
export function describeActivity(
  person: IPerson,
  now: number,
  cellIndex: number | null,
  trans: TranslationBundle
): string {
  const doc = person.current ? baseName(person.current) : null;
  const cell = cellIndex !== null ? cellIndex + 1 : null;
  switch (activityOf(person)) {
    case 'editing':
      if (!doc) {
        return trans.__('editing');
      }
      return cell !== null
        ? trans.__('editing cell %1 of %2', cell, doc)
        : trans.__('editing %1', doc);
    case 'viewing':
      if (!doc) {
        return trans.__('viewing a document');
      }
      return cell !== null
        ? trans.__('viewing %1, cursor in cell %2', doc, cell)
        : trans.__('viewing %1', doc);
    case 'active':
      return doc
        ? trans.__('active, %1 open', doc)
        : trans.__('active, no document open');
    default: {
      const last =
        parseTime(person.last_activity) ?? parseTime(person.joined_at);
      const minutes = last
        ? Math.max(0, Math.floor((now - last.getTime()) / 60000))
        : 0;
      const idle =
        minutes < 1
          ? trans.__('idle < 1 min')
          : trans.__('idle %1 min', minutes);
      return doc
        ? trans.__('%1 in %2', idle, doc)
        : trans.__('%1, no document open', idle);
    }
  }
}
