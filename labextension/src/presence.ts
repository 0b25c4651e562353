/**
 * Live presence: one websocket to `api/rtc-presence/presence/stream`, a map of
 * the people on this server, and signals for joins, leaves, access changes,
 * our own revocation and the server going away.
 *
 * Reconnects with capped exponential backoff and jitter after any close
 * that is not fatal (`closecodes.ts`); after each close the REST API is asked
 * why, because a refused websocket upgrade only shows as close code 1006.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { IPerson, RtcPresenceClient } from './api';
import { CloseCode, CloseReason, isFatal } from './closecodes';
import { AccessCheck, backoffDelay, classifyFailure } from './reconnect';
import { IActivityEvent } from './execution/types';
import { applyMessage, StreamMessage } from './stream';

export type ConnectionStatus =
  'connecting' | 'open' | 'closed' | 'revoked' | 'ended';

export class PresenceModel {
  constructor(client: RtcPresenceClient) {
    this._client = client;
    client.refused.connect(() => this._onRevoked());
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

  /** The first snapshot arrived (`people` is now complete). */
  get ready(): ISignal<this, void> {
    return this._ready;
  }

  /** A person arrived (not emitted for the people of the first snapshot). */
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

  /** The end was the time-boxed access running out (4403 "access expired"). */
  get expired(): boolean {
    return this._expired;
  }

  /** This browser's user was revoked (close 4403, or the API answers 403). */
  get revoked(): ISignal<this, void> {
    return this._revoked;
  }

  /**
   * The server changed this browser's access level (close 4409): the stream
   * reconnects by itself; listeners re-read who we are.
   */
  get levelChanged(): ISignal<this, void> {
    return this._levelChanged;
  }

  /**
   * The server stopped: it said so (4403 "server stopping"), or the hub
   * answered in its place (see `classifyFailure`).
   */
  get serverGone(): ISignal<this, void> {
    return this._serverGone;
  }

  /** Open the stream (idempotent). */
  start(): void {
    if (this._socket || this._stopped) {
      return;
    }
    this._connect();
  }

  /** Close the stream for good: no reconnection, nobody shown. */
  stop(status: 'revoked' | 'ended' = 'ended'): void {
    this._stopped = true;
    window.clearTimeout(this._retryTimer);
    if (this._socket) {
      this._socket.onclose = null;
      this._socket.close();
      this._socket = null;
    }
    this._people.clear();
    this._setStatus(status);
    this._changed.emit();
  }

  /** Ask the server whether we may still use it; emits revoked/serverGone. */
  async probe(): Promise<AccessCheck> {
    let result: AccessCheck = 'ok';
    try {
      await this._client.info();
    } catch (error) {
      result = classifyFailure(error);
    }
    if (result === 'revoked') {
      this._onRevoked();
    } else if (result === 'gone' && !this._stopped) {
      this._serverGone.emit();
    }
    return result;
  }

  private _connect(): void {
    if (this._stopped) {
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
      if (this._stopped) {
        return;
      }
      if (isFatal(event.code)) {
        if (event.reason === CloseReason.STOPPING) {
          this.stop('ended');
          this._serverGone.emit();
        } else {
          this._expired = event.reason === CloseReason.EXPIRED;
          this._onRevoked();
        }
        return;
      }
      this._setStatus('closed');
      if (event.code === CloseCode.ACCESS_CHANGED) {
        this._levelChanged.emit();
      }
      void this.probe();
      const delay = backoffDelay(this._attempts);
      this._attempts += 1;
      this._retryTimer = window.setTimeout(() => this._connect(), delay);
    };
  }

  private _onRevoked(): void {
    if (this._stopped) {
      return;
    }
    this.stop('revoked');
    this._revoked.emit();
  }

  /** Owner only: a file changed outside while the server was down; the room's version was kept. */
  get recovered(): ISignal<this, { path: string; copy: string }> {
    return this._recovered;
  }

  /** A timeline entry (join, leave, execution, revocation...), new or updated. */
  get activity(): ISignal<this, IActivityEvent> {
    return this._activity;
  }

  private _handle(message: StreamMessage): void {
    if (message.type === 'activity') {
      this._activity.emit(message.event);
      return;
    }
    if (message.type === 'recovered') {
      this._recovered.emit({ path: message.path, copy: message.copy });
      return;
    }
    const first = message.type === 'snapshot' && !this._hadSnapshot;
    const effect = applyMessage(this._people, message, this._hadSnapshot);
    this._people = effect.people;
    if (message.type === 'snapshot') {
      this._hadSnapshot = true;
    }
    if (effect.changed) {
      this._changed.emit();
    }
    effect.joined.forEach(person => this._joined.emit(person));
    effect.left.forEach(person => this._left.emit(person));
    if (effect.access) {
      this._accessChanged.emit();
    }
    if (first) {
      this._ready.emit();
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
  private _stopped = false;
  private _expired = false;
  private _changed = new Signal<this, void>(this);
  private _ready = new Signal<this, void>(this);
  private _joined = new Signal<this, IPerson>(this);
  private _left = new Signal<this, IPerson>(this);
  private _accessChanged = new Signal<this, void>(this);
  private _revoked = new Signal<this, void>(this);
  private _serverGone = new Signal<this, void>(this);
  private _levelChanged = new Signal<this, void>(this);
  private _recovered = new Signal<this, { path: string; copy: string }>(this);
  private _activity = new Signal<this, IActivityEvent>(this);
}
