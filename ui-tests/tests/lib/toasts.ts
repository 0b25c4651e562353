/**
 * Every join/leave toast a page shows, recorded as it appears.
 *
 * Toasts close by themselves after a few seconds, so they are counted when
 * they appear: an init script watches the page for `.Toastify__toast`
 * elements and reports each one once (with its text) to the test process,
 * through a binding that survives reloads. Toasts may be grouped ("Bob
 * Dupont and Carol Nguyen joined", "3 people joined"): the people are
 * counted by name, or by the number a grouped toast gives.
 */
import { BrowserContext, Page } from '@playwright/test';

export type ToastKind = 'joined' | 'left';

export interface IToast {
  at: number;
  page: string;
  text: string;
}

/** Who a toast is about: display names found in it, or "?" times the count it gives. */
export function toastPeople(text: string, displayNames: readonly string[]): string[] {
  const named = displayNames.filter(name => text.includes(name));
  if (named.length) {
    return named;
  }
  const count = /(\d+)\s+(?:people|persons|others|collaborators)/i.exec(text);
  return Array(count ? Number(count[1]) : 1).fill('?');
}

export function toastKind(text: string): ToastKind | null {
  if (/\bjoined\b/i.test(text)) {
    return 'joined';
  }
  if (/\bleft\b/i.test(text)) {
    return 'left';
  }
  return null;
}

const BINDING = '__rtcToastSeen';

export class ToastLog {
  readonly toasts: IToast[] = [];

  /** Record the toasts of every page of `context`; `name` labels a page. */
  async attach(context: BrowserContext, name: (page: Page) => string): Promise<void> {
    await context.exposeBinding(BINDING, ({ page }, text: string) => {
      this.toasts.push({ at: Date.now(), page: name(page), text });
    });
    await context.addInitScript(binding => {
      const seen = new WeakSet<Element>();
      const scan = () => {
        for (const toast of Array.from(document.querySelectorAll('.Toastify__toast'))) {
          const text = (toast.textContent ?? '').trim();
          if (!seen.has(toast) && text) {
            seen.add(toast);
            (window as unknown as Record<string, (t: string) => void>)[binding](text);
          }
        }
      };
      new MutationObserver(scan).observe(document, {
        childList: true,
        subtree: true,
        characterData: true
      });
    }, BINDING);
  }

  /** Join/leave toasts since `since`: page -> kind -> person -> count. */
  tally(
    since: number,
    displayNames: Record<string, string>
  ): Map<string, Record<ToastKind, Map<string, number>>> {
    const byName = Object.fromEntries(Object.entries(displayNames).map(([u, d]) => [d, u]));
    const result = new Map<string, Record<ToastKind, Map<string, number>>>();
    for (const toast of this.toasts) {
      const kind = toastKind(toast.text);
      if (toast.at < since || !kind) {
        continue;
      }
      const page = result.get(toast.page) ?? { joined: new Map(), left: new Map() };
      result.set(toast.page, page);
      for (const person of toastPeople(toast.text, Object.values(displayNames))) {
        const user = byName[person] ?? person;
        page[kind].set(user, (page[kind].get(user) ?? 0) + 1);
      }
    }
    return result;
  }
}
