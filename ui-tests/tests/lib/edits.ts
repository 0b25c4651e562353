/**
 * An edit from each page reaching every other page: each page types a
 * unique marker into the same cell, and every other page is watched until
 * it shows the marker, with a deadline. The latency of each delivery is
 * measured between the end of the typing (test process clock) and the
 * moment the other page saw the text (that page's clock: same machine).
 */
import { Page } from '@playwright/test';

import { typeInCell } from '../helpers';
import { IPage } from './people';

export interface IDelivery {
  from: string;
  to: string;
  ms: number;
}

const VISIBLE_CELLS = '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell';

async function seenAt(page: Page, cell: number, marker: string, timeout: number): Promise<number> {
  const handle = await page.waitForFunction(
    ({ selector, cell, marker }) => {
      const node = document.querySelectorAll(selector)[cell];
      return node && (node.textContent ?? '').includes(marker) ? Date.now() : false;
    },
    { selector: VISIBLE_CELLS, cell, marker },
    { polling: 20, timeout }
  );
  return (await handle.jsonValue()) as number;
}

/** Every page types one marker in turn; returns every delivery's latency. */
export async function editRound(
  pages: readonly IPage[],
  cell: number,
  tag: string,
  deadlineMs: number,
  prepare: (writer: IPage) => Promise<void> = async () => {}
): Promise<IDelivery[]> {
  const deliveries: IDelivery[] = [];
  for (const writer of pages) {
    await prepare(writer);
    const marker = `# ${tag} ${writer.name} ${Math.random().toString(36).slice(2, 8)}`;
    await typeInCell(writer.page, cell, marker, { timeout: deadlineMs });
    const typedAt = Date.now();
    const others = pages.filter(p => p !== writer);
    const seen = await Promise.all(
      others.map(reader =>
        seenAt(reader.page, cell, marker, deadlineMs).catch(() => {
          throw new Error(
            `${writer.name}'s edit "${marker}" did not reach ${reader.name} within ${deadlineMs} ms`
          );
        })
      )
    );
    others.forEach((reader, i) =>
      deliveries.push({ from: writer.name, to: reader.name, ms: Math.max(0, seen[i] - typedAt) })
    );
  }
  return deliveries;
}

export function percentile(values: readonly number[], p: number): number {
  if (!values.length) {
    return NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}
