/**
 * Commands a level leaves out explain themselves: executing one (a run
 * button, a menu item, Shift+Enter) shows "Your access (edit) does not
 * include running code" instead of reaching the server and failing, its
 * tooltip says the same, and it carries the class `rtc-mod-notAllowed`.
 *
 * Lumino's CommandRegistry has no hook before `execute` and no way to
 * change another extension's command, so this wraps `execute`, `caption`
 * and `className` of the application's registry instance. Key bindings,
 * menus and toolbar buttons all call `this.execute` on that instance
 * (@lumino/commands 2.3 `_executeKeyBinding`; @jupyterlab/ui-components
 * `CommandToolbarButtonComponent`). Pinned by ui-tests/tests/levels.spec.ts.
 */
import type { CommandRegistry } from '@lumino/commands';
import type { IDisposable } from '@lumino/disposable';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

/** The reason `id` is refused now, or null when it is allowed. */
export type Refusal = (id: string) => string | null;

export const NOT_ALLOWED_CLASS = 'rtc-mod-notAllowed';

export function guardCommands(
  commands: CommandRegistry,
  refusal: Refusal,
  onRefused: (id: string, message: string) => void
): IDisposable {
  const execute = commands.execute;
  const caption = commands.caption;
  const className = commands.className;
  let disposed = false;
  commands.execute = function (
    id: string,
    args?: ReadonlyPartialJSONObject
  ): Promise<unknown> {
    const message = refusal(id);
    if (message) {
      onRefused(id, message);
      return Promise.resolve(undefined);
    }
    return execute.call(commands, id, args);
  };
  commands.caption = function (
    id: string,
    args?: ReadonlyPartialJSONObject
  ): string {
    return refusal(id) ?? caption.call(commands, id, args);
  };
  commands.className = function (
    id: string,
    args?: ReadonlyPartialJSONObject
  ): string {
    const base = className.call(commands, id, args);
    return refusal(id) ? `${base} ${NOT_ALLOWED_CLASS}`.trim() : base;
  };
  return {
    get isDisposed() {
      return disposed;
    },
    dispose() {
      if (disposed) {
        return;
      }
      disposed = true;
      commands.execute = execute;
      commands.caption = caption;
      commands.className = className;
      commands.notifyCommandChanged();
    }
  };
}
