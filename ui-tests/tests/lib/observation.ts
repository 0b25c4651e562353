/**
 * One scenario's observation: from its trigger to the end of its window,
 * what the server logged (closes, forged entries, evictions), which
 * join/leave toasts every page showed, what the room websockets carried,
 * how fast edits went round, and whether the panel and the presence list
 * stayed right. `summary()` is the one line printed per scenario;
 * `problems()` lists every broken expectation (empty when calm).
 */
import { classifyCloses, DemoLog, ILogFigures } from './demolog';
import { IDelivery, percentile } from './edits';
import { IPresencePerson } from './owner';
import { SocketMonitor } from './sockets';
import { ToastKind, ToastLog } from './toasts';

export interface IExpectations {
  /** People whose browser was frozen or cut: their liveness closes are expected. */
  stalled: string[];
  /** Real joins and leaves the trigger causes, per person (others: none). */
  realJoins: Record<string, number>;
  realLeaves: Record<string, number>;
  /** People whose presence must not be reset (same `joined_at` before and after). */
  stable: string[];
  maxForgedLines: number;
}

const POLL_MS = 1_000;

export class Observation {
  constructor(
    readonly label: string,
    readonly expectations: IExpectations,
    private readonly log: DemoLog,
    private readonly toasts: ToastLog,
    private readonly sockets: SocketMonitor,
    private readonly displayNames: Record<string, string>
  ) {
    this.logMark = log.mark();
    this.triggeredAt = Date.now();
    this.settledAt = this.triggeredAt;
  }

  readonly logMark: number;
  readonly triggeredAt: number;
  settledAt: number;
  deliveries: IDelivery[] = [];
  errors: string[] = [];
  /** JupyterLab "Server unavailable" dialogs dismissed, per page. */
  readonly serverDialogs = new Map<string, number>();
  presenceBefore: IPresencePerson[] = [];
  presenceAfter: IPresencePerson[] = [];
  /** Unexpected server closes seen at each poll of the window (a timeline). */
  readonly closesTimeline: number[] = [];

  /** The trigger's action is complete: the window counts from here. */
  settled(): void {
    this.settledAt = Date.now();
  }

  /**
   * The deliberate observation window: poll the log every second until
   * `windowMs` after settling (the storm, when there is one, shows in the
   * timeline of closes).
   */
  async holdUntil(windowMs: number): Promise<void> {
    while (Date.now() < this.settledAt + windowMs) {
      this.closesTimeline.push(this.unexpectedCloses().length);
      await new Promise(resolve =>
        setTimeout(resolve, Math.min(POLL_MS, this.settledAt + windowMs - Date.now()))
      );
    }
  }

  /** Run a step; a failure is recorded (and reported with the figures) instead of thrown. */
  async attempt(what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      this.errors.push(`${what}: ${(error as Error).message.split('\n')[0]}`);
    }
  }

  logFigures(): ILogFigures {
    return this.log.figuresSince(this.logMark);
  }

  unexpectedCloses() {
    return classifyCloses(this.logFigures().closes, this.expectations.stalled).unexpected;
  }

  /** Join/leave toasts above the real joins/leaves, per page: "carol: 12x bob joined". */
  toastExcess(): string[] {
    const excess: string[] = [];
    const allowed: Record<ToastKind, Record<string, number>> = {
      joined: this.expectations.realJoins,
      left: this.expectations.realLeaves
    };
    for (const [page, kinds] of this.toasts.tally(this.triggeredAt, this.displayNames)) {
      for (const kind of ['joined', 'left'] as ToastKind[]) {
        const total = [...kinds[kind].values()].reduce((a, b) => a + b, 0);
        const totalAllowed = Object.values(allowed[kind]).reduce((a, b) => a + b, 0);
        for (const [person, n] of kinds[kind]) {
          const limit = person === '?' ? totalAllowed : (allowed[kind][person] ?? 0);
          if (n > limit) {
            excess.push(`${page}: ${n}x "${person} ${kind}" (real: ${limit})`);
          }
        }
        if (total > totalAllowed && !excess.some(e => e.startsWith(`${page}:`))) {
          excess.push(`${page}: ${total} "${kind}" toasts (real: ${totalAllowed})`);
        }
      }
    }
    return excess;
  }

  toastCounts(): { joined: number; left: number } {
    const counts = { joined: 0, left: 0 };
    for (const kinds of this.toasts.tally(this.triggeredAt, this.displayNames).values()) {
      for (const kind of ['joined', 'left'] as ToastKind[]) {
        counts[kind] += [...kinds[kind].values()].reduce((a, b) => a + b, 0);
      }
    }
    return counts;
  }

  /** Stable people whose presence was reset (left and joined again) during the scenario. */
  presenceResets(): string[] {
    const before = new Map(this.presenceBefore.map(p => [p.username, p.joined_at]));
    const after = new Map(this.presenceAfter.map(p => [p.username, p.joined_at]));
    return this.expectations.stable.filter(
      user => !before.has(user) || !after.has(user) || before.get(user) !== after.get(user)
    );
  }

  problems(): string[] {
    const log = this.logFigures();
    const { unexpected } = classifyCloses(log.closes, this.expectations.stalled);
    const problems: string[] = [];
    if (unexpected.length) {
      const first = unexpected.slice(0, 3).map(c => `${c.user}: ${c.reason}`);
      problems.push(`${unexpected.length} server-initiated close(s), e.g. ${first.join('; ')}`);
    }
    if (log.forgedLines.length > this.expectations.maxForgedLines) {
      problems.push(
        `${log.forgedLines.length} "forged" log lines (at most ${this.expectations.maxForgedLines})`
      );
    }
    problems.push(...this.toastExcess().map(e => `toast ${e}`));
    for (const user of this.presenceResets()) {
      problems.push(`${user}'s presence was reset (joined_at changed or missing)`);
    }
    problems.push(...this.errors);
    return problems;
  }

  summary(): string {
    const log = this.logFigures();
    const { unexpected, expectedLiveness } = classifyCloses(log.closes, this.expectations.stalled);
    const ms = this.deliveries.map(d => d.ms);
    const toasts = this.toastCounts();
    const excess = this.toastExcess();
    const window = Math.round((Date.now() - this.settledAt) / 1000);
    let awarenessIn = 0;
    let reconnects = 0;
    let maxClock = 0;
    for (const name of this.sockets.names()) {
      const counts = this.sockets.counts(name, this.triggeredAt);
      awarenessIn += counts.awarenessIn;
      reconnects += counts.closed;
      maxClock = Math.max(maxClock, counts.maxClock);
    }
    const clockBefore = this.sockets.maxClockBefore(this.triggeredAt);
    return [
      `storm[${this.label}]:`,
      `closes=${unexpected.length}`,
      `(expected ping timeouts of ${this.expectations.stalled.join('/') || 'nobody'}: ${expectedLiveness.length})`,
      `forged=${log.forgedLines.length} lines/${log.forgedEntries} entries`,
      `evicted=${log.evictions.length}`,
      `toasts=${excess.length ? 'TOO MANY' : 'ok'} (joined ${toasts.joined}, left ${toasts.left})`,
      `edit p50=${percentile(ms, 50)}ms max=${ms.length ? Math.max(...ms) : NaN}ms n=${ms.length}`,
      `awareness in=${awarenessIn} peak=${this.sockets.peakPerSecond(this.triggeredAt)}/s`,
      `clock ${clockBefore}->${Math.max(clockBefore, maxClock)}`,
      `room socket closes=${reconnects}`,
      `window=${window}s`,
      this.serverDialogs.size
        ? `server-unavailable dialogs dismissed: ${[...this.serverDialogs]
            .map(([page, n]) => `${page} ${n}`)
            .join(', ')}`
        : '',
      this.errors.length ? `errors=${this.errors.length}` : ''
    ]
      .filter(Boolean)
      .join(' ');
  }
}
