/**
 * Live presence: one websocket to `api/rtc-presence/presence/stream`, a map of
 * the people on this server, and signals for joins, leaves, access changes and
 * our own revocation (close code 4403).
 */
import { ISignal, Signal } from '@lumino/signaling';

import { ApiError, IPerson, RtcPresenceClient } from './api';

/** Close code the server uses when the owner revoked this person. */
export const CLOSE_REVOKED = 4403;

/** Close codes after which reconnecting cannot help. */
const FATAL_CODES = new Set([CLOSE_REVOKED, 4400, 4413, 4429]);

type StreamMessage =
  | { type: 'snapshot'; people: IPerson[] }
  | { type: 'join'; person: IPerson }
  | { type: 'update'; person: IPerson }
  | { type: 'leave'; username: string }
  | { type: 'access' };

export type ConnectionStatus = 'connecting' | 'open' | 'closed' | 'revoked';

export class PresenceModel {
  constructor(client: RtcPresenceClient) {
    this._client = client;
  }

  /** People on this server now, keyed by user name (one entry per person). */
  get people(): ReadonlyMap<string, IPerson> {
    return this._people;
  }

  get status(): ConnectionStatus {
    return this._status;
  }

  /** Emitted on any change of `people` or `status`. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A person arrived (not emitted for the people of a snapshot). */
  get joined(): ISignal<this, IPerson> {
    return this._joined;
  }

  /** A person left (their last connection closed). */
  get left(): ISignal<this, IPerson> {
    return this._left;
  }

  /** The owner's guest or invite lists changed (also emitted on join/leave). */
  get accessChanged(): ISignal<this, void> {
    return this._accessChanged;
  }

  /** This browser's user was revoked by the owner. */
  get revoked(): ISignal<this, void> {
    return this._revoked;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Open the stream (idempotent). */
  start(): void {
    if (this._socket || this._disposed || this._status === 'revoked') {
      return;
    }
    this._connect();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    window.clearTimeout(this._retryTimer);
    if (this._socket) {
      this._socket.onclose = null;
      this._socket.close();
      this._socket = null;
    }
    Signal.clearData(this);
  }

  private _connect(): void {
    if (this._disposed || this._status === 'revoked') {
      return;
    }
    this._setStatus('connecting');
    const socket = new WebSocket(this._client.streamUrl());
    this._socket = socket;
    socket.onopen = () => {
      this._attempts = 0;
      this._setStatus('open');
    };
    socket.onmessage = event => {
      if (typeof event.data !== 'string') {
        return;
      }
      try {
        this._handle(JSON.parse(event.data) as StreamMessage);
      } catch (error) {
        console.warn('rtc-presence: bad presence message', error);
      }
    };
    socket.onclose = event => {
      this._socket = null;
      if (this._disposed) {
        return;
      }
      if (event.code === CLOSE_REVOKED) {
        // We see nobody any more: do not keep showing stale presence.
        this._people.clear();
        this._setStatus('revoked');
        this._revoked.emit();
        return;
      }
      this._setStatus('closed');
      // A revoked person's reconnection is refused at the HTTP level (403),
      // which a browser only reports as close code 1006: ask the REST API.
      this._probeAccess();
      if (FATAL_CODES.has(event.code)) {
        console.warn(
          `rtc-presence: presence stream closed (${event.code} ${event.reason})`
        );
      }
      // Reconnect with capped exponential backoff: the server may restart.
      const delay = Math.min(30000, 1000 * 2 ** Math.min(this._attempts, 5));
      this._attempts += 1;
      this._retryTimer = window.setTimeout(() => this._connect(), delay);
    };
  }

  private _probeAccess(): void {
    this._client.info().catch(error => {
      if (
        !this._disposed &&
        this._status !== 'revoked' &&
        error instanceof ApiError &&
        error.status === 403
      ) {
        window.clearTimeout(this._retryTimer);
        this._people.clear();
        this._setStatus('revoked');
        this._revoked.emit();
      }
    });
  }

  private _handle(message: StreamMessage): void {
    switch (message.type) {
      case 'snapshot': {
        const previous = this._people;
        this._people = new Map(message.people.map(p => [p.username, p]));
        // After a reconnect, report differences with what we showed before.
        if (this._hadSnapshot) {
          for (const [name, person] of this._people) {
            if (!previous.has(name)) {
              this._joined.emit(person);
            }
          }
          for (const [name, person] of previous) {
            if (!this._people.has(name)) {
              this._left.emit(person);
            }
          }
        }
        this._hadSnapshot = true;
        this._changed.emit();
        this._accessChanged.emit();
        break;
      }
      case 'join':
      case 'update': {
        const known = this._people.has(message.person.username);
        this._people.set(message.person.username, message.person);
        this._changed.emit();
        if (message.type === 'join' || !known) {
          if (!known) {
            this._joined.emit(message.person);
          }
          this._accessChanged.emit();
        }
        break;
      }
      case 'leave': {
        const person = this._people.get(message.username);
        this._people.delete(message.username);
        this._changed.emit();
        if (person) {
          this._left.emit(person);
        }
        this._accessChanged.emit();
        break;
      }
      case 'access':
        this._accessChanged.emit();
        break;
      default:
        break;
    }
  }

  private _setStatus(status: ConnectionStatus): void {
    if (this._status !== status) {
      this._status = status;
      this._changed.emit();
    }
  }

  private _client: RtcPresenceClient;
  private _socket: WebSocket | null = null;
  private _people = new Map<string, IPerson>();
  private _status: ConnectionStatus = 'closed';
  private _attempts = 0;
  private _retryTimer = 0;
  private _hadSnapshot = false;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _joined = new Signal<this, IPerson>(this);
  private _left = new Signal<this, IPerson>(this);
  private _accessChanged = new Signal<this, void>(this);
  private _revoked = new Signal<this, void>(this);
}
