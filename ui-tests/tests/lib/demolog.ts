/**
 * The demo hub's log, read from a byte offset: what rtc-presence logged
 * after a scenario's trigger.
 *
 * The single-user servers are LocalProcessSpawner children of the hub and
 * inherit its stdout/stderr, which globalSetup points at the demo log: the
 * servers' `rtc-presence: ...` lines land in the same file (checked by
 * `expectServerLines`).
 */
import * as fs from 'fs';

import { IDemoState, STATE_FILE } from '../../demo-state';

/** A connection closed by the server ("rtc-presence: closing bob's connection to ..."). */
export interface IServerClose {
  user: string;
  room: string;
  reason: string;
  /** Closed because the peer stopped answering pings (1001). */
  liveness: boolean;
  line: string;
}

export interface ILogFigures {
  /** Every connection the server closed, liveness closes included. */
  closes: IServerClose[];
  /** "dropped N forged awareness entries" lines. */
  forgedLines: string[];
  /** Sum of N over those lines. */
  forgedEntries: number;
  /** People evicted by the owner (`rtc-presence: evicted bob ...`). */
  evictions: string[];
  /** Lines read. */
  lines: number;
}

const CLOSING = /rtc-presence: closing (.+?)'s connection to (\S+?):\s(.*)$/;
// A close logged in another wording (the server's rules are being rewritten):
// any rtc-presence line naming a flood or malformed close code.
const OTHER_CLOSE = /rtc-presence:.*(\b4429\b|\b4400\b|\b4413\b|too many awareness)/i;
const FORGED = /rtc-presence:.*\bforged\b/i;
const FORGED_COUNT = /dropped (\d+) forged/i;
const EVICTED = /rtc-presence: evicted (\S+)/;
const SERVER_LINE = /^\[[DIWEC] [\d-]+ [\d:.]+ ServerApp\]/;
const LIVENESS = /ping|pong|timed out|1001/i;

export class DemoLog {
  constructor(readonly path: string) {}

  /** The log of the demo started by globalSetup (or RTC_DEMO_LOG for a demo run by hand). */
  static fromEnv(): DemoLog {
    let file = process.env.RTC_DEMO_LOG;
    if (!file && fs.existsSync(STATE_FILE)) {
      file = (JSON.parse(fs.readFileSync(STATE_FILE, 'utf-8')) as IDemoState).log;
    }
    if (!file || !fs.existsSync(file)) {
      throw new Error(
        'The demo log is unknown: set RTC_DEMO_LOG to the log file of the demo hub ' +
          '(globalSetup sets it when it starts the demo itself).'
      );
    }
    return new DemoLog(file);
  }

  /** The current end of the log: count from here. */
  mark(): number {
    return fs.statSync(this.path).size;
  }

  /** Complete lines written since `offset`. */
  linesSince(offset: number): string[] {
    const size = fs.statSync(this.path).size;
    if (size <= offset) {
      return [];
    }
    const fd = fs.openSync(this.path, 'r');
    try {
      const buffer = Buffer.alloc(size - offset);
      fs.readSync(fd, buffer, 0, buffer.length, offset);
      const text = buffer.toString('utf-8');
      // A line still being written is read by the next call.
      const end = text.lastIndexOf('\n');
      return end < 0 ? [] : text.slice(0, end).split('\n');
    } finally {
      fs.closeSync(fd);
    }
  }

  figuresSince(offset: number): ILogFigures {
    const figures: ILogFigures = {
      closes: [],
      forgedLines: [],
      forgedEntries: 0,
      evictions: [],
      lines: 0
    };
    for (const line of this.linesSince(offset)) {
      figures.lines += 1;
      const closing = CLOSING.exec(line);
      if (closing) {
        const [, user, room, reason] = closing;
        figures.closes.push({ user, room, reason, liveness: LIVENESS.test(reason), line });
      } else if (OTHER_CLOSE.test(line) && !FORGED.test(line)) {
        figures.closes.push({ user: '?', room: '?', reason: line, liveness: false, line });
      }
      if (FORGED.test(line)) {
        figures.forgedLines.push(line);
        figures.forgedEntries += Number(FORGED_COUNT.exec(line)?.[1] ?? 1);
      }
      const evicted = EVICTED.exec(line);
      if (evicted) {
        figures.evictions.push(evicted[1]);
      }
    }
    return figures;
  }

  /**
   * Whether the single-user servers' own log lines reach this file
   * (`[I 2026-12-01 21:52:08.594 ServerApp] ...`; the hub's say `JupyterHub`).
   */
  hasServerLines(offset = 0): boolean {
    return this.linesSince(offset).some(line => SERVER_LINE.test(line));
  }
}

/**
 * Split closes into the unexpected ones and the liveness closes of the
 * people whose browser was frozen or cut on purpose (expected, reported).
 */
export function classifyCloses(
  closes: IServerClose[],
  stalled: readonly string[]
): { unexpected: IServerClose[]; expectedLiveness: IServerClose[] } {
  const unexpected: IServerClose[] = [];
  const expectedLiveness: IServerClose[] = [];
  for (const close of closes) {
    if (close.liveness && stalled.includes(close.user)) {
      expectedLiveness.push(close);
    } else {
      unexpected.push(close);
    }
  }
  return { unexpected, expectedLiveness };
}
