/**
 * Once this tab's access ended, no websocket to this server opens again.
 *
 * The collaboration providers (y-websocket's `WebsocketProvider`) reconnect
 * after every close, at most 2.5 s apart, whatever the close code. Document
 * providers are reachable and disposed (`quiet.ts`), but the global
 * awareness provider is not: `@jupyter/collaboration-extension:rtcGlobalAwareness`
 * (jupyter-collaboration 5.0, collaboration-extension/src/collaboration.ts)
 * creates it and keeps no reference. Each of its attempts would be one
 * refused request and one console error, forever. So the page's WebSocket
 * class is wrapped when this module loads (before any plugin activates, so
 * every provider and `ServerConnection.makeSettings()` picks it up); it
 * passes everything through until `refuse()` is called, and then hands
 * sockets to this server a closed stand-in that never touches the network.
 * Pinned by the "revoked tab goes quiet" UI test (ui-tests/tests/sharing.spec.ts).
 */

/** Close code given to the stand-in sockets (closecodes.ts: REVOKED). */
const REFUSED_CODE = 4403;

class RefusedSocket extends EventTarget {
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readonly readyState = 3;
  readonly bufferedAmount = 0;
  readonly extensions = '';
  readonly protocol = '';
  binaryType: BinaryType = 'blob';
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;

  constructor(readonly url: string) {
    super();
    // Asynchronously, like a real socket: callers set handlers first.
    window.setTimeout(() => {
      const event = new CloseEvent('close', {
        code: REFUSED_CODE,
        reason: 'access ended',
        wasClean: true
      });
      this.onclose?.(event);
      this.dispatchEvent(event);
    }, 0);
  }

  send(): void {
    // Nothing leaves this tab any more.
  }

  close(): void {
    // Already closed.
  }
}

const refused: string[] = [];
let installed = false;

/** Wrap `window.WebSocket` (idempotent; a pass-through until `refuse`). */
export function installSocketGate(): void {
  if (installed || typeof window === 'undefined' || !window.WebSocket) {
    return;
  }
  installed = true;
  const Native = window.WebSocket;
  function GatedWebSocket(
    url: string | URL,
    protocols?: string | string[]
  ): WebSocket {
    const href = String(url);
    if (refused.some(prefix => href.startsWith(prefix))) {
      return new RefusedSocket(href) as unknown as WebSocket;
    }
    return protocols === undefined
      ? new Native(url)
      : new Native(url, protocols);
  }
  GatedWebSocket.prototype = Native.prototype;
  for (const name of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const) {
    Object.defineProperty(GatedWebSocket, name, { value: Native[name] });
  }
  window.WebSocket = GatedWebSocket as unknown as typeof WebSocket;
}

/** From now on, sockets whose URL starts with `prefix` are refused. */
export function refuseSockets(prefix: string): void {
  if (prefix && !refused.includes(prefix)) {
    refused.push(prefix);
  }
}
