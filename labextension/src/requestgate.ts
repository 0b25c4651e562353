/**
 * Once this tab's access ended, no HTTP request reaches this server again.
 *
 * `IConnectionStatus.isConnected = false` (quiet.ts) puts JupyterLab's
 * periodic polls in standby, but one-off requests still go out: the
 * workspace save, a document's metadata check, a late file browser
 * refresh. Each was a refused request plus a console error, and how many
 * fell inside the first seconds after revocation depended on the machine's
 * load. So the page's `fetch` is wrapped when this module loads (before
 * `ServerConnection.makeSettings()` reads the global `fetch`); it passes
 * everything through until `refuse()` is called, and then answers requests
 * under the refused prefixes itself with the 403 the server would give,
 * never touching the network. Requests elsewhere (the hub's pages) pass.
 * Pinned by the "revoked tab goes quiet" UI test (ui-tests/tests/sharing.spec.ts).
 */

const refused: string[] = [];
let installed = false;

/** The server's own answer to a revoked guest, without asking it. */
function refusal(): Response {
  return new Response(
    JSON.stringify({ message: 'Your access to this server has ended.' }),
    { status: 403, headers: { 'Content-Type': 'application/json' } }
  );
}

function urlOf(input: RequestInfo | URL): string {
  if (typeof input === 'string') {
    return new URL(input, window.location.href).href;
  }
  return input instanceof URL ? input.href : input.url;
}

/** Wrap `window.fetch` (idempotent; a pass-through until `refuseRequests`). */
export function installRequestGate(): void {
  if (installed || typeof window === 'undefined' || !window.fetch) {
    return;
  }
  installed = true;
  const native = window.fetch.bind(window);
  window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    if (refused.length) {
      const href = urlOf(input);
      if (refused.some(prefix => href.startsWith(prefix))) {
        return Promise.resolve(refusal());
      }
    }
    return native(input, init);
  };
}

/** From now on, requests whose absolute URL starts with `prefix` are refused. */
export function refuseRequests(prefix: string): void {
  const absolute = prefix ? new URL(prefix, window.location.href).href : '';
  if (absolute && !refused.includes(absolute)) {
    refused.push(absolute);
  }
}
