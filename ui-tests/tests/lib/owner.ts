/**
 * What the owner does through APIs, with her own browser session: the
 * rtc-presence sharing API of her server (invite links, revoke, allow
 * again, the presence list) from her JupyterLab page, and stopping and
 * starting her server through the hub's REST API from her hub home page.
 * The UI of these actions is tested by sharing.spec.ts.
 */
import { expect, Page } from '@playwright/test';

import { hubApi, IApiAnswer } from './hubapi';

/** A request to `user/<owner>/api/rtc-presence/<path>` from the owner's JupyterLab page. */
export async function sharingApi(
  page: Page,
  base: string,
  owner: string,
  method: string,
  path: string,
  body?: unknown
): Promise<IApiAnswer> {
  const url = `${base}user/${owner}/api/rtc-presence/${path}`;
  return page.evaluate(
    async ({ url, method, body }) => {
      const xsrf = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]+)/)?.[1] ?? '';
      const response = await fetch(url, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-XSRFToken': decodeURIComponent(xsrf) },
        body: body === undefined ? undefined : JSON.stringify(body)
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text for the error message
      }
      return { status: response.status, body: parsed };
    },
    { url, method, body }
  );
}

/** A new invite link (one hour), as the owner's dialog makes it. */
export async function newInvite(page: Page, base: string, owner: string): Promise<string> {
  const answer = await sharingApi(page, base, owner, 'POST', 'invites', { expires_in: 3600 });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  const url = (answer.body as { url?: string }).url ?? '';
  expect(url).toMatch(/\/hub\/accept-share\?code=/);
  return new URL(url, base).toString();
}

export interface IPresencePerson {
  username: string;
  joined_at: string;
  connections: number;
  current: string | null;
}

/** The server's presence list (`GET .../presence`). */
export async function presence(
  page: Page,
  base: string,
  owner: string
): Promise<IPresencePerson[]> {
  const answer = await sharingApi(page, base, owner, 'GET', 'presence');
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return (answer.body as { people: IPresencePerson[] }).people;
}

async function serverState(hubPage: Page, owner: string): Promise<'stopped' | 'pending' | 'ready'> {
  const answer = await hubApi(hubPage, 'GET', `users/${owner}`);
  expect(answer.status).toBe(200);
  const server = (answer.body as { servers: Record<string, { ready: boolean }> }).servers[''];
  return !server ? 'stopped' : server.ready ? 'ready' : 'pending';
}

/** Stop the owner's server and start it again, as she would from her hub home page. */
export async function restartServer(hubPage: Page, base: string, owner: string): Promise<void> {
  await hubPage.goto(`${base}hub/home`);
  const stop = await hubApi(hubPage, 'DELETE', `users/${owner}/server`);
  expect([202, 204], JSON.stringify(stop.body)).toContain(stop.status);
  await expect
    .poll(() => serverState(hubPage, owner), { timeout: 60_000, intervals: [250] })
    .toBe('stopped');
  const start = await hubApi(hubPage, 'POST', `users/${owner}/server`);
  expect([201, 202], JSON.stringify(start.body)).toContain(start.status);
  await expect
    .poll(() => serverState(hubPage, owner), { timeout: 120_000, intervals: [250] })
    .toBe('ready');
}
