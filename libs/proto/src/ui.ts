/**
 * `@moat/proto/ui`: the dashboards' live-update channel, without zod or gRPC, so a browser
 * bundle can take its values. The same names are exported by `@moat/proto`.
 */
export { UI_NAMESPACE, type UiEvents, type UiPayloads, type UiTemplateUpdate } from './ui/ui.events';
