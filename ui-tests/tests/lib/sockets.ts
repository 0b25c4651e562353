/**
 * What the collaboration websockets of a page carry, observed passively
 * through Playwright's websocket events (CDP's frame notifications: nothing
 * is intercepted or changed): awareness frames in and out, their entries'
 * clocks, and how often the sockets were opened and closed.
 *
 * `window.jupyterapp` is not exposed by the demo's JupyterLab, so the
 * awareness clocks are read from the frames themselves (y-protocols'
 * encoding: message type 1, then a length-prefixed update of
 * `count, (clientID, clock, JSON state)*`, all lib0 varints).
 */
import { Page, WebSocket } from '@playwright/test';

const ROOM = /\/api\/collaboration\/room\//;
const AWARENESS = 1;

export interface IAwarenessEntry {
  clientId: number;
  clock: number;
  removal: boolean;
}

/** Decode a y-protocols awareness message; null when it is not one. */
export function decodeAwareness(data: Uint8Array): IAwarenessEntry[] | null {
  let pos = 0;
  const varUint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (pos >= data.length) {
        throw new Error('truncated varint');
      }
      const byte = data[pos++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        return value;
      }
      scale *= 128;
    }
    throw new Error('varint too long');
  };
  try {
    if (varUint() !== AWARENESS) {
      return null;
    }
    const length = varUint();
    const end = pos + length;
    const count = varUint();
    const entries: IAwarenessEntry[] = [];
    for (let i = 0; i < count && pos < end; i++) {
      const clientId = varUint();
      const clock = varUint();
      const stateLength = varUint();
      const state = Buffer.from(data.subarray(pos, pos + stateLength)).toString('utf-8');
      pos += stateLength;
      entries.push({ clientId, clock, removal: state === 'null' });
    }
    return entries;
  } catch {
    return null;
  }
}

export interface ISocketCounts {
  awarenessIn: number;
  awarenessOut: number;
  /** Highest awareness clock seen in any frame of this page. */
  maxClock: number;
  opened: number;
  closed: number;
}

interface ITimed {
  at: number;
  inbound: boolean;
  maxClock: number;
}

/** Observes the room websockets of every page it is attached to. */
export class SocketMonitor {
  attach(page: Page, name: string): void {
    page.on('websocket', socket => this._watch(socket, name));
  }

  /** Figures of `name`'s pages since `since` (ms, Date.now()). */
  counts(name: string, since: number): ISocketCounts {
    const counts: ISocketCounts = {
      awarenessIn: 0,
      awarenessOut: 0,
      maxClock: 0,
      opened: 0,
      closed: 0
    };
    for (const frame of this._frames.get(name) ?? []) {
      if (frame.at < since) {
        continue;
      }
      if (frame.inbound) {
        counts.awarenessIn += 1;
      } else {
        counts.awarenessOut += 1;
      }
      counts.maxClock = Math.max(counts.maxClock, frame.maxClock);
    }
    counts.opened = (this._opened.get(name) ?? []).filter(at => at >= since).length;
    counts.closed = (this._closed.get(name) ?? []).filter(at => at >= since).length;
    return counts;
  }

  /** Highest clock seen by any page before `before` (the window's starting level). */
  maxClockBefore(before: number): number {
    let max = 0;
    for (const frames of this._frames.values()) {
      for (const frame of frames) {
        if (frame.at < before) {
          max = Math.max(max, frame.maxClock);
        }
      }
    }
    return max;
  }

  /** The busiest second of inbound awareness frames of any page since `since`. */
  peakPerSecond(since: number): number {
    let peak = 0;
    for (const frames of this._frames.values()) {
      const perSecond = new Map<number, number>();
      for (const frame of frames) {
        if (frame.at >= since && frame.inbound) {
          const second = Math.floor(frame.at / 1000);
          const n = (perSecond.get(second) ?? 0) + 1;
          perSecond.set(second, n);
          peak = Math.max(peak, n);
        }
      }
    }
    return peak;
  }

  names(): string[] {
    return [...this._frames.keys()];
  }

  private _watch(socket: WebSocket, name: string): void {
    if (!ROOM.test(socket.url())) {
      return;
    }
    const push = <T>(map: Map<string, T[]>, value: T) => {
      const list = map.get(name) ?? [];
      list.push(value);
      map.set(name, list);
    };
    push(this._opened, Date.now());
    if (!this._frames.has(name)) {
      this._frames.set(name, []);
    }
    const record = (payload: string | Buffer, inbound: boolean) => {
      if (typeof payload === 'string') {
        return;
      }
      const entries = decodeAwareness(payload);
      if (entries) {
        const maxClock = entries.reduce((max, e) => Math.max(max, e.clock), 0);
        push(this._frames, { at: Date.now(), inbound, maxClock });
      }
    };
    socket.on('framereceived', frame => record(frame.payload, true));
    socket.on('framesent', frame => record(frame.payload, false));
    socket.on('close', () => push(this._closed, Date.now()));
  }

  private _frames = new Map<string, ITimed[]>();
  private _opened = new Map<string, number[]>();
  private _closed = new Map<string, number[]>();
}
