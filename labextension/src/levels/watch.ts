/**
 * Every document widget this page creates, from every widget factory
 * (notebooks, text editors, and factories registered later), so a level
 * applies to documents whatever opened them.
 */
import type {
  DocumentRegistry,
  IDocumentWidget
} from '@jupyterlab/docregistry';

export function watchDocuments(
  registry: DocumentRegistry,
  onWidget: (widget: IDocumentWidget) => void
): void {
  const watched = new WeakSet<DocumentRegistry.WidgetFactory>();
  const watch = (factory: DocumentRegistry.WidgetFactory | undefined) => {
    if (!factory || watched.has(factory)) {
      return;
    }
    watched.add(factory);
    factory.widgetCreated.connect((_, widget) => onWidget(widget));
  };
  for (const factory of registry.widgetFactories()) {
    watch(factory);
  }
  registry.changed.connect((_, change) => {
    if (
      change.type === 'widgetFactory' &&
      change.change === 'added' &&
      change.name
    ) {
      watch(registry.getWidgetFactory(change.name));
    }
  });
}
