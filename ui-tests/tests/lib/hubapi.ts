/**
 * The hub's REST API with a person's own hub cookie, from a page of the hub
 * (its `jhdata.xsrf_token` is what the hub's own pages send).
 */
import { expect, Page } from '@playwright/test';

export interface IApiAnswer {
  status: number;
  body: unknown;
}

export async function hubApi(hubPage: Page, method: string, path: string): Promise<IApiAnswer> {
  return hubPage.evaluate(
    async ({ method, path }) => {
      const data = (window as unknown as { jhdata: { base_url: string; xsrf_token: string } })
        .jhdata;
      const response = await fetch(`${data.base_url}api/${path}`, {
        method,
        headers: { 'X-XSRFToken': data.xsrf_token }
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    { method, path }
  );
}

interface IToken {
  id: string;
  oauth_client?: string | null;
}

/**
 * Revoke `user`'s OAuth tokens for `owner`'s server, as "Revoke" under
 * "Authorized Applications" on the hub's token page does: the hub then asks
 * for consent again on the next visit (it skips the page for a client the
 * person has tokens for), as on a fresh hub.
 */
export async function forgetAuthorizations(
  hubPage: Page,
  base: string,
  user: string,
  owner: string
): Promise<number> {
  await hubPage.goto(`${base}hub/home`);
  const answer = await hubApi(hubPage, 'GET', `users/${user}/tokens`);
  expect(answer.status).toBe(200);
  const tokens = (answer.body as { api_tokens: IToken[] }).api_tokens ?? [];
  const client = new RegExp(`(/user/${owner}/|^jupyterhub-user-${owner}$)`);
  let revoked = 0;
  for (const token of tokens) {
    if (token.oauth_client && client.test(token.oauth_client)) {
      const deleted = await hubApi(hubPage, 'DELETE', `users/${user}/tokens/${token.id}`);
      expect(deleted.status).toBe(204);
      revoked += 1;
    }
  }
  return revoked;
}
