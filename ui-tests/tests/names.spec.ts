/**
 * User-provided text is rendered as text, never as HTML.
 *
 * The demo's users have plain names, so this test feeds the owner's real
 * JupyterLab (on the real demo hub) with hostile, right-to-left, emoji and
 * very long display names: Playwright sits on the presence websocket and
 * adds people to the server's real messages, and answers the guests list.
 */
import { expect, test, WebSocketRoute } from '@playwright/test';

import { closeDialog, login, openSharingFromMenu, screenshotPath, waitForLab } from './helpers';

interface IFake {
  username: string;
  display_name: string;
  initials: string;
  color: string;
}

const XSS = '<img src=x onerror=alert(1)>';
const RTL = 'نور الهدى بن علي';
const EMOJI = '🦊 Renard 🎉';
const LONG = 'Maximilian Alexander Bartholomew von Hohenzollern-Sigmaringen der Dritte';

const FAKES: IFake[] = [
  { username: 'mallory', display_name: XSS, initials: '<I', color: '#6A1B9A' },
  { username: 'nour', display_name: RTL, initials: 'نع', color: '#00838F' },
  { username: 'fox', display_name: EMOJI, initials: '🦊R', color: '#EF6C00' },
  { username: 'maximilian', display_name: LONG, initials: 'MD', color: '#455A64' }
];

function person(fake: IFake): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    ...fake,
    name: fake.display_name,
    avatar_url: null,
    role: 'guest',
    joined_at: now,
    connections: 1,
    documents: [],
    current: null,
    last_activity: now
  };
}

test('hostile, right-to-left, emoji and long display names render as text', async ({ browser }) => {
  const alice = await login(browser, 'alice', { spawn: true });
  const page = alice.page;
  const dialogs: string[] = [];
  page.on('dialog', dialog => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });

  // Presence stream: the server's real messages, plus our people. The
  // hostile name arrives as a "join" so that it also goes through the
  // join notification.
  const [mallory, ...others] = FAKES;
  await alice.context.routeWebSocket(/\/api\/rtc-presence\/presence\/stream/, ws => {
    const server = ws.connectToServer();
    server.onMessage(message => {
      const data = JSON.parse(String(message)) as { type: string; people?: unknown[] };
      if (data.type === 'snapshot') {
        data.people = [...(data.people ?? []), ...others.map(person)];
        ws.send(JSON.stringify(data));
        ws.send(JSON.stringify({ type: 'join', person: person(mallory) }));
        return;
      }
      ws.send(JSON.stringify(data));
    });
    ws.onMessage(message => server.send(message));
  });
  // The owner's guests list (GET only), with the same people.
  await alice.context.route(/\/api\/rtc-presence\/guests(\?.*)?$/, async route => {
    if (route.request().method() !== 'GET') {
      return route.continue();
    }
    const now = new Date().toISOString();
    await route.fulfill({
      json: {
        guests: [mallory, FAKES[2], FAKES[3]].map(g => ({
          ...g,
          accepted_at: now,
          online: true
        })),
        revoked: [{ ...FAKES[1], revoked_at: now }]
      }
    });
  });
  await page.reload();

  // Panel: every name exactly as text, with its full value in the title.
  await page.locator('.rtc-Badge').click();
  const panel = page.locator('#rtc-presence-collaborators');
  for (const fake of FAKES) {
    const row = panel.locator(`.rtc-CollaboratorRow[data-username="${fake.username}"]`);
    await expect(row.locator('.rtc-Name')).toHaveText(fake.display_name);
    await expect(row.locator('.rtc-Name')).toHaveAttribute('title', fake.display_name);
    await expect(row.locator('.rtc-Avatar')).toHaveText(fake.initials);
  }
  await expect(panel.locator('img')).toHaveCount(0);

  // The join notification shows the name as text too.
  await expect(page.locator('.Toastify__toast', { hasText: `${XSS} joined` })).toBeVisible();
  await expect(page.locator('.Toastify__toast img')).toHaveCount(0);

  // Long names are cut with an ellipsis (full name on hover).
  const longName = panel.locator('.rtc-CollaboratorRow[data-username="maximilian"] .rtc-Name');
  const box = await longName.evaluate(el => ({
    overflow: getComputedStyle(el).textOverflow,
    truncated: el.scrollWidth > el.clientWidth
  }));
  expect(box).toEqual({ overflow: 'ellipsis', truncated: true });
  // Right-to-left names are isolated so they do not reorder what follows.
  const rtlName = panel.locator('.rtc-CollaboratorRow[data-username="nour"] .rtc-Name');
  expect(await rtlName.evaluate(el => getComputedStyle(el).unicodeBidi)).toBe('isolate');

  // Badge: "+k" past three others, names as text in the hover title.
  const badge = page.locator('.rtc-Badge');
  await expect(badge.locator('.rtc-Badge-others .rtc-Avatar')).toHaveCount(4);
  await expect(badge.locator('.rtc-Avatar-more')).toHaveText('+1');
  const title = (await badge.getAttribute('title')) ?? '';
  for (const fake of FAKES) {
    expect(title).toContain(fake.display_name);
  }
  await expect(badge.locator('img')).toHaveCount(0);

  // Sharing dialog: guests and revoked people, as text.
  const dialog = await openSharingFromMenu(page);
  const guests = dialog.locator('.rtc-Guests');
  await expect(guests.locator('.rtc-Person[data-username="mallory"] .rtc-Name')).toHaveText(XSS);
  await expect(guests.locator('.rtc-Person[data-username="fox"] .rtc-Name')).toHaveText(EMOJI);
  await expect(guests.locator('.rtc-Person[data-username="maximilian"] .rtc-Name')).toHaveText(
    LONG
  );
  await expect(guests.getByRole('button', { name: `Revoke access for ${XSS}` })).toBeVisible();
  await expect(
    dialog.locator('.rtc-Revoked .rtc-Person[data-username="nour"] .rtc-Name')
  ).toHaveText(RTL);
  await expect(dialog.locator('img')).toHaveCount(0);
  await closeDialog(page);

  expect(dialogs, 'no script from a display name ran').toEqual([]);
  await alice.context.close();
});

test('failures and an unavailable sharing service are shown in the dialog', async ({ browser }) => {
  const alice = await login(browser, 'alice', { spawn: true });
  const page = alice.page;
  // The hub fails when a link is created: the server answers 502 + message.
  const message = 'The hub could not be reached (connection refused).';
  await alice.context.route(/\/api\/rtc-presence\/invites(\?.*)?$/, route =>
    route.request().method() === 'POST'
      ? route.fulfill({ status: 502, json: { message } })
      : route.continue()
  );
  let dialog = await openSharingFromMenu(page);
  await dialog.getByRole('button', { name: 'Generate link' }).click();
  await expect(dialog.locator('.rtc-Error[role="alert"]')).toContainText(message);
  await expect(dialog.locator('.rtc-NewLink')).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Dismiss error' }).click();
  await expect(dialog.locator('.rtc-Error')).toHaveCount(0);
  // Focus stays in the dialog although the focused button went away.
  await expect(dialog.getByRole('button', { name: 'Generate link' })).toBeFocused();
  await closeDialog(page);

  // Sharing not available (no hub, or a token without sharing rights): the
  // reason is shown and no link can be made.
  const reason = 'Your hub token may not share this server.';
  await alice.context.route(/\/api\/rtc-presence\/info(\?.*)?$/, async route => {
    const response = await route.fetch();
    const info = await response.json();
    await route.fulfill({ response, json: { ...info, sharing: { available: false, reason } } });
  });
  dialog = await openSharingFromMenu(page);
  await expect(dialog.locator('.rtc-Unavailable')).toContainText(reason);
  await expect(dialog.getByRole('button', { name: 'Generate link' })).toHaveCount(0);
  await closeDialog(page);
  await alice.context.close();
});

test('the dialog follows the dark theme', async ({ browser }) => {
  const alice = await login(browser, 'alice', { spawn: true });
  const page = alice.page;
  const setTheme = async (name: string, light: boolean) => {
    await page.locator('#jp-MainMenu .lm-MenuBar-itemLabel', { hasText: 'Settings' }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Theme$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: new RegExp(`^${name}$`) }).click();
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', String(light));
  };
  await setTheme('JupyterLab Dark', false);
  try {
    const dialog = await openSharingFromMenu(page);
    await dialog.getByRole('button', { name: 'Generate link' }).click();
    await expect(dialog.locator('.rtc-NewLink')).toBeVisible();
    // Text follows the theme (light text on the dark layout color).
    const colors = await dialog.locator('.rtc-Sharing').evaluate(el => ({
      text: getComputedStyle(el).color,
      background: getComputedStyle(el.closest('.jp-Dialog-content')!).backgroundColor
    }));
    const luminance = (rgb: string) =>
      (rgb.match(/\d+/g) ?? ['0', '0', '0']).slice(0, 3).reduce((sum, v) => sum + Number(v), 0);
    expect(luminance(colors.text)).toBeGreaterThan(luminance(colors.background));
    // The warning box too (its own background must stay dark).
    const warning = await dialog.locator('.rtc-Warning').evaluate(el => ({
      text: getComputedStyle(el).color,
      background: getComputedStyle(el).backgroundColor
    }));
    expect(luminance(warning.text)).toBeGreaterThan(luminance(warning.background));
    await page
      .locator('.jp-Dialog-content')
      .screenshot({ path: screenshotPath('dialog-dark.png') });
    await closeDialog(page);
  } finally {
    await setTheme('JupyterLab Light', true);
    await alice.context.close();
  }
});

test('join and leave toasts are grouped, and a quick leave-and-return is not announced', async ({
  browser
}) => {
  const alice = await login(browser, 'alice', { spawn: true });
  const page = alice.page;
  const [ann, ben, cy, dee] = [
    ['ann', 'Ann Archer'],
    ['ben', 'Ben Brown'],
    ['cy', 'Cy Cole'],
    ['dee', 'Dee Dunn']
  ].map(([username, name]) =>
    person({ username, display_name: name, initials: name[0], color: '#2E7D32' })
  );
  // The server's real stream, with dee already here, and a handle to add
  // messages of our own.
  let stream: WebSocketRoute | null = null;
  await alice.context.routeWebSocket(/\/api\/rtc-presence\/presence\/stream/, ws => {
    const server = ws.connectToServer();
    server.onMessage(message => {
      const data = JSON.parse(String(message)) as { type: string; people?: unknown[] };
      if (data.type === 'snapshot') {
        data.people = [...(data.people ?? []), dee];
      }
      ws.send(JSON.stringify(data));
    });
    ws.onMessage(message => server.send(message));
    stream = ws;
  });
  await page.reload();
  await waitForLab(page);
  await expect(page.locator('.rtc-Badge-others .rtc-Avatar[data-username="dee"]')).toBeVisible();
  // Every toast as it appears (they close by themselves after 4 s).
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { rtcToasts: string[] }).rtcToasts = seen;
    const known = new WeakSet<Element>();
    new MutationObserver(() => {
      for (const toast of Array.from(document.querySelectorAll('.Toastify__toast'))) {
        if (!known.has(toast) && toast.textContent) {
          known.add(toast);
          seen.push(toast.textContent.trim());
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  });
  // Join/leave toasts only (JupyterLab's own news question may show too).
  const toasts = async () =>
    (await page.evaluate(() => (window as unknown as { rtcToasts: string[] }).rtcToasts)).filter(
      text => /\b(joined|left)\b/.test(text)
    );
  const send = (message: unknown) => stream!.send(JSON.stringify(message));

  // Three arrivals at once: one toast.
  for (const p of [ann, ben, cy]) {
    send({ type: 'join', person: p });
  }
  const joined = expect.stringContaining('3 people joined: Ann Archer, Ben Brown, Cy Cole');
  await expect.poll(toasts).toEqual([joined]);

  // Dee leaves and comes back within the grouping window (a reload): not
  // announced; Ann really leaves: told once.
  send({ type: 'leave', username: 'dee' });
  send({ type: 'join', person: dee });
  send({ type: 'leave', username: 'ann' });
  const left = expect.stringContaining('Ann Archer left');
  await expect.poll(toasts).toEqual([joined, left]);
  expect((await toasts()).join('\n')).not.toContain('Dee Dunn');
  await alice.context.close();
});
