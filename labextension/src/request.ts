/**
 * The one request helper (the pattern of extension-examples' `requestAPI`):
 * every call of the rtc-presence API goes through
 * `ServerConnection.makeRequest` (XSRF header and token added the way
 * JupyterLab's own services do) and fails with
 * `ServerConnection.ResponseError` carrying the server's JSON `message`,
 * or `ServerConnection.NetworkError` when nothing answered.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export const API_ROOT = 'api/rtc-presence';

export async function requestAPI<T>(
  settings: ServerConnection.ISettings,
  path: string,
  init: RequestInit = {}
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_ROOT, path);
  if (init.body !== undefined) {
    init.headers = { 'Content-Type': 'application/json', ...init.headers };
  }
  // Throws ServerConnection.NetworkError when the server is unreachable.
  const response = await ServerConnection.makeRequest(url, init, settings);
  const text = await response.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      // An HTML page (the hub's "not running" page, a proxy error): no message.
      data = undefined;
    }
  }
  if (!response.ok) {
    const message = messageOf(data);
    throw new ServerConnection.ResponseError(
      response,
      message ?? `${response.status} ${response.statusText || 'error'}`.trim()
    );
  }
  return data as T;
}

function messageOf(data: unknown): string | null {
  if (data && typeof data === 'object') {
    const message = (data as { message?: unknown }).message;
    if (typeof message === 'string' && message) {
      return message;
    }
  }
  return null;
}

/** The HTTP status of a failed request, or 0 when nothing answered. */
export function statusOf(err: unknown): number {
  return err instanceof ServerConnection.ResponseError
    ? err.response.status
    : 0;
}

/** The readable message of any error (never an empty string). */
export function errorMessage(err: unknown): string {
  if (err instanceof ServerConnection.NetworkError) {
    return `The server could not be reached (${err.message}).`;
  }
  if (err instanceof Error && err.message) {
    return err.message;
  }
  return String(err) || 'Unknown error';
}
