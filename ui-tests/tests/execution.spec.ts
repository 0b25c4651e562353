/**
 * Who ran what and follow mode (issue 15), in real Chromium tabs against the
 * real demo hub: bob (a guest with `run`) runs a cell of alice's notebook
 * and alice sees "run by BD" on that cell within 1 s of bob's own reply;
 * alice follows bob, bob opens another notebook and moves to a cell there,
 * alice's view follows; Escape stops following.
 */
import { Browser, expect, Page, test } from '@playwright/test';

import { hubUrl, notebookCells, screenshotPath } from './helpers';
import { newInvite, sharingApi } from './lib/owner';
import { acceptLink, IPerson, logIn, mainPage, openNotebook } from './lib/people';

const OWNER = 'alice';
const NOTEBOOK = 'welcome.ipynb';
const SECOND = 'follow-target.ipynb';
/** The demo notebook's `import getpass` cell. */
const RUN_CELL = 1;
const FOLLOW_CELL = 2;

let alice: IPerson;
let bob: IPerson;

async function person(browser: Browser, user: string): Promise<IPerson> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  return { user, base: hubUrl(), context, pages: [{ name: user, user, page }] };
}

/** Index of the active cell in the notebook shown in `page`, and that notebook's tab label. */
async function where(page: Page): Promise<{ tab: string; cell: number }> {
  return page.evaluate(() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const cells = Array.from(panel?.querySelectorAll('.jp-Notebook .jp-Cell') ?? []);
    const tab = document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current');
    return {
      tab: tab?.textContent?.trim() ?? '',
      cell: cells.findIndex(c => c.classList.contains('jp-mod-active'))
    };
  });
}

test.beforeAll(async ({ browser }) => {
  alice = await person(browser, 'alice');
  bob = await person(browser, 'bob');
  await logIn(alice, { owner: true });
  await logIn(bob, { owner: false });
  const link = await newInvite(mainPage(alice), hubUrl(), OWNER);
  await acceptLink(mainPage(bob), link, OWNER);
  // A second notebook for bob to move to.
  const cells = [0, 1, 2, 3].map(i => ({
    cell_type: 'code',
    id: `follow-${i}`,
    metadata: {},
    execution_count: null,
    outputs: [],
    source: `# follow cell ${i}\n`
  }));
  const answer = await mainPage(alice).evaluate(
    async ({ url, cells }) => {
      const xsrf = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]+)/)?.[1] ?? '';
      const response = await fetch(url, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'X-XSRFToken': decodeURIComponent(xsrf) },
        body: JSON.stringify({
          type: 'notebook',
          format: 'json',
          content: {
            nbformat: 4,
            nbformat_minor: 5,
            // A kernel named: no "Select Kernel" dialog when it opens.
            metadata: {
              kernelspec: {
                name: 'python3',
                display_name: 'Python 3 (ipykernel)',
                language: 'python'
              }
            },
            cells
          }
        })
      });
      return response.status;
    },
    { url: `${hubUrl()}user/${OWNER}/api/contents/${SECOND}`, cells }
  );
  expect([200, 201]).toContain(answer);
});

test.afterAll(async () => {
  await alice?.context.close();
  await bob?.context.close();
});

test('bob runs a cell: alice sees who ran it within 1 s', async () => {
  const a = mainPage(alice);
  const b = mainPage(bob);
  await openNotebook(a, hubUrl(), OWNER, NOTEBOOK);
  await openNotebook(b, hubUrl(), OWNER, NOTEBOOK);

  const aliceSees = a.waitForFunction(
    index => {
      const cells = document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'
      );
      const badge = cells[index]?.querySelector('.rtc-RunBy');
      const done =
        badge?.textContent === 'BD' &&
        (badge.getAttribute('title') ?? '').startsWith('Run by Bob Dupont at');
      return done ? Date.now() : null;
    },
    RUN_CELL,
    { timeout: 120_000, polling: 'raf' }
  );
  const bobSees = b.waitForFunction(
    index => {
      const cells = document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'
      );
      const prompt = cells[index]?.querySelector('.jp-InputPrompt')?.textContent ?? '';
      return /\[\d+\]/.test(prompt) ? Date.now() : null;
    },
    RUN_CELL,
    { timeout: 120_000, polling: 'raf' }
  );
  await notebookCells(b).nth(RUN_CELL).locator('.cm-content').click();
  await b.keyboard.press('Shift+Enter');
  const [aliceAt, bobAt] = await Promise.all([
    aliceSees.then(h => h.jsonValue()),
    bobSees.then(h => h.jsonValue())
  ]);
  const lag = (aliceAt as number) - (bobAt as number);
  console.log(`run-by on alice's cell ${lag} ms after bob's own reply`);
  expect(lag).toBeLessThanOrEqual(1000);

  await a.screenshot({ path: screenshotPath('run-by.png') });

  // The server's own record says bob, with the cell's id.
  const activity = await sharingApi(a, hubUrl(), OWNER, 'GET', `activity?path=${NOTEBOOK}`);
  const runs = (activity.body as { events: Record<string, unknown>[] }).events.filter(
    e => e.kind === 'execute'
  );
  expect(runs.at(-1)).toMatchObject({ username: 'bob', cell_id: 'welcome-1', status: 'ok' });
  // The panel's Activity section lists it.
  await a.locator('.rtc-Badge').click();
  const section = a.locator('#rtc-presence-collaborators .rtc-ActivitySection');
  await expect(
    section.locator('.rtc-ActivityItem[data-kind="execute"][data-username="bob"]').first()
  ).toBeVisible();
});

test('alice follows bob across notebooks and cells; Escape stops it', async () => {
  const a = mainPage(alice);
  const b = mainPage(bob);
  const panel = a.locator('#rtc-presence-collaborators');
  if (!(await panel.isVisible())) {
    await a.locator('.rtc-Badge').click();
  }
  await panel.getByRole('button', { name: 'Follow Bob Dupont' }).click();
  const bar = a.locator('.rtc-FollowBar');
  await expect(bar).toContainText('Following Bob Dupont');

  // bob opens the second notebook from his file browser and goes to a cell.
  const item = b.locator('.jp-DirListing-item', { hasText: SECOND });
  if (!(await item.isVisible())) {
    // The left area may show another panel (the collaborators panel).
    await b.locator('.jp-SideBar .lm-TabBar-tab[data-id="filebrowser"]').click();
  }
  await item.dblclick();
  const bobCell = b
    .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')
    .nth(FOLLOW_CELL);
  await bobCell.locator('.cm-content').click();
  await expect(bobCell).toHaveClass(/jp-mod-active/);
  await expect
    .poll(() => where(a), { timeout: 30_000 })
    .toEqual({ tab: SECOND, cell: FOLLOW_CELL });

  await a.screenshot({ path: screenshotPath('follow.png') });

  // Escape: not following any more.
  await a.keyboard.press('Escape');
  await expect(bar).toHaveCount(0);
  await expect(panel.getByRole('button', { name: 'Follow Bob Dupont' })).toBeVisible();

  // bob goes back to the first notebook; alice's view stays where it is.
  await b.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: NOTEBOOK }).click();
  const bobRow = panel.locator('.rtc-CollaboratorRow[data-username="bob"]');
  await expect(bobRow.locator('.rtc-Doc')).toHaveText(NOTEBOOK, { timeout: 30_000 });
  expect(await where(a)).toEqual({ tab: SECOND, cell: FOLLOW_CELL });
});
