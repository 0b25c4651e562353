/**
 * Crash recovery as the owner sees it (issue 16), in real Chromium on the
 * demo hub: alice types into a notebook, her single-user server is killed
 * (SIGKILL: no save, no shutdown hook), another program rewrites the file
 * while the server is down, she starts her server again from the hub and
 * reopens the notebook. The file wins (it keeps the outside change), the
 * room's version is kept next to it as `name.recovered-<UTC>.ipynb`, and
 * her JupyterLab tells her once, with "Open the recovered copy", which opens
 * a copy holding what she typed. Screenshot: docs/screenshots/recovered.png.
 *
 * The notebook is a file of this spec's own, removed afterwards, so the
 * other specs find alice's home as they left it.
 */
import * as fs from 'fs';
import * as path from 'path';

import { expect, test } from '@playwright/test';

import {
  declineNews,
  hubUrl,
  ISession,
  login,
  notebookCells,
  screenshotPath,
  typeInCell,
  waitForLab
} from './helpers';
import { restartServer } from './lib/owner';
import { panelRows } from './lib/panel';
import { findServer, killServer, serverPids } from './lib/serverprocess';
import { ToastLog } from './lib/toasts';

const OWNER = 'alice';
const NOTICE = 'the file changed while the server was down';

const tag = Math.random().toString(36).slice(2, 8);
const NOTEBOOK = `recovery-${tag}.ipynb`;
const TYPED = `# typed by alice before the crash ${tag}`;
const OUTSIDE = `# rewritten by another program ${tag}`;

let alice: ISession;
let home = '';
const toasts = new ToastLog();

function notebookJson(source: string): string {
  const notebook = {
    cells: [
      { cell_type: 'code', execution_count: null, id: 'c1', metadata: {}, outputs: [], source }
    ],
    metadata: {
      kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
  return JSON.stringify(notebook, null, 1) + '\n';
}

/** The source of the first cell of a notebook file on disk ('' while it is being written). */
function firstCell(file: string): string {
  try {
    const notebook = JSON.parse(fs.readFileSync(file, 'utf-8'));
    const source = notebook.cells[0].source;
    return Array.isArray(source) ? source.join('') : String(source);
  } catch {
    return '';
  }
}

function recoveredCopies(): string[] {
  const stem = path.basename(NOTEBOOK, '.ipynb');
  return fs.readdirSync(home).filter(name => name.startsWith(`${stem}.recovered-`));
}

function recoveryToasts(): number {
  return toasts.toasts.filter(toast => toast.text.includes(NOTICE)).length;
}

test.afterAll(async () => {
  for (const name of home ? [NOTEBOOK, ...recoveredCopies()] : []) {
    fs.rmSync(path.join(home, name), { force: true });
  }
  // A failure between the kill and the restart would leave the hub thinking
  // alice's server runs: start it again for the specs that follow.
  if (alice && home && serverPids(`${hubUrl()}user/${OWNER}/`).length === 0) {
    await restartServer(alice.page, hubUrl(), OWNER);
  }
  await alice?.context.close();
});

test('after a crash and an outside change, the owner is told once and opens the recovered copy', async ({
  browser
}) => {
  test.setTimeout(300_000);
  const serverUrl = `${hubUrl()}user/${OWNER}/`;
  alice = await login(browser, OWNER, { spawn: true });
  const page = alice.page;
  await declineNews(page, OWNER);
  await toasts.attach(alice.context, () => OWNER);

  const before = findServer(serverUrl);
  home = before.home;
  const file = path.join(home, NOTEBOOK);
  fs.writeFileSync(file, notebookJson('# written before the crash'));

  // alice types; the server has her edit once its autosave wrote it (the
  // YStore is committed before a save is recorded, rtc_presence/durable.py).
  await page.goto(`${serverUrl}lab/tree/${NOTEBOOK}?reset`);
  await waitForLab(page);
  await expect(notebookCells(page).first()).toBeVisible({ timeout: 60_000 });
  await typeInCell(page, 0, TYPED);
  await expect
    .poll(() => firstCell(file), { timeout: 30_000, message: `${file} saved with her edit` })
    .toContain(TYPED);

  // She leaves for the hub home (her tab would otherwise hold the notebook
  // open across the restart); the server dies as in a crash.
  await page.goto(`${hubUrl()}hub/home`);
  await killServer(before);

  // Another program rewrites the file while the server is down.
  fs.writeFileSync(file, notebookJson(OUTSIDE));
  await restartServer(page, hubUrl(), OWNER);
  const after = findServer(serverUrl);
  expect(after.pid).not.toBe(before.pid);

  // She reopens the notebook: the file's version, and the notice.
  await page.goto(`${serverUrl}lab/tree/${NOTEBOOK}?reset`);
  await waitForLab(page);
  await expect(notebookCells(page).first()).toContainText(OUTSIDE, { timeout: 60_000 });
  const notice = page.locator('.Toastify__toast', { hasText: NOTICE });
  await expect(notice).toBeVisible({ timeout: 30_000 });
  const copies = recoveredCopies();
  expect(copies, `one recovery copy of ${NOTEBOOK} in ${home}`).toHaveLength(1);
  const copy = copies[0];
  expect(copy).toMatch(/\.recovered-\d{8}T\d{6}Z\.ipynb$/);
  // Whole, not cut at JupyterLab's 140 characters: both names readable.
  await expect(notice.locator('.jp-toast-message')).toHaveText(
    `Your edits to ${NOTEBOOK} are in ${copy}: ${NOTICE}.`
  );
  await page.screenshot({ path: screenshotPath('recovered.png') });

  // The file kept the outside change; the copy holds what she typed.
  expect(firstCell(file)).toContain(OUTSIDE);
  expect(firstCell(file)).not.toContain(TYPED);
  expect(firstCell(path.join(home, copy))).toContain(TYPED);

  await notice.getByRole('button', { name: 'Open the recovered copy' }).click();
  await expect(
    page.locator('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current', { hasText: copy })
  ).toBeVisible({ timeout: 30_000 });
  await expect(notebookCells(page).first()).toContainText(TYPED, { timeout: 30_000 });
  await expect(notebookCells(page).first()).not.toContainText(OUTSIDE);
  expect(recoveryToasts()).toBe(1);

  // Once: a new JupyterLab page opens a new presence stream, which is told
  // nothing again. Her own presence (the document she is on) is pushed on
  // that stream after anything the server would send when it opens.
  await page.reload();
  await waitForLab(page);
  await page.locator('.rtc-Badge').click();
  await expect
    .poll(async () => (await panelRows(page)).map(row => `${row.user} ${row.doc}`), {
      timeout: 30_000,
      message: 'the collaborators panel shows alice on a document after the reload'
    })
    .toEqual([expect.stringMatching(new RegExp(`^${OWNER} \\S+\\.ipynb$`))]);
  await expect(page.locator('.Toastify__toast', { hasText: NOTICE })).toHaveCount(0);
  expect(recoveryToasts()).toBe(1);
  expect(firstCell(file)).toContain(OUTSIDE);
});
