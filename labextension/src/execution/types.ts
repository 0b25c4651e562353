/**
 * The activity timeline's entries (`GET api/rtc-presence/activity` and the
 * presence stream's `{"type": "activity"}` messages; see "Who ran what and
 * follow mode" in the README). An entry that changes (an execution that
 * finishes) comes again with the same `id` and a newer `updated`.
 */
import { Access } from '../api';

export type ActivityKind =
  | 'join'
  | 'leave'
  | 'execute'
  | 'interrupt'
  | 'restart'
  | 'shutdown'
  | 'terminal'
  | 'revoked'
  | 'access_changed';

export interface IActivityEvent {
  id: number;
  kind: ActivityKind;
  at: string;
  updated: string;
  username: string;
  display_name: string;
  initials?: string;
  color?: string;
  role?: string;
  access?: Access;
  kernel_id?: string;
  path?: string | null;
  cell_id?: string | null;
  /** execute: `running` until it ends, then the reply's status. */
  status?: string;
  started?: string | null;
  finished?: string | null;
  execution_count?: number | null;
  code_first_line?: string;
  via?: string;
  by?: string;
}
