/**
 * The collaborators panel as a page shows it: one row per person, with the
 * document they have open (`.rtc-Doc`). Opened through the top-bar badge,
 * as in sharing.spec.ts.
 */
import { expect, Page } from '@playwright/test';

export interface IPanelRow {
  user: string;
  doc: string;
}

const ROWS = '#rtc-presence-collaborators .rtc-CollaboratorRow';

export async function panelRows(page: Page): Promise<IPanelRow[]> {
  return page.locator(ROWS).evaluateAll(rows =>
    rows.map(row => ({
      user: (row as HTMLElement).dataset.username ?? '',
      doc: (row.querySelector('.rtc-Doc')?.textContent ?? '').trim()
    }))
  );
}

/**
 * The panel of `page` lists exactly `users`, once each, every one of them
 * on `doc` (polled until true or the deadline).
 */
export async function expectPanel(
  page: Page,
  users: readonly string[],
  doc: string,
  timeout = 20_000
): Promise<void> {
  const panel = page.locator('#rtc-presence-collaborators');
  if (!(await panel.isVisible())) {
    await page.locator('.rtc-Badge').click();
  }
  await expect(panel).toBeVisible();
  const expected = [...users].sort().map(user => ({ user, doc }));
  await expect
    .poll(async () => (await panelRows(page)).sort((a, b) => (a.user < b.user ? -1 : 1)), {
      timeout,
      message: `collaborators panel of ${page.url()}`
    })
    .toEqual(expected);
}
