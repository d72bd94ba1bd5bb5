// The control plane's REST representations, as the dashboard uses them. Web never imports
// server code (Nx boundary `scope:web`), so these mirror the API contract by hand, one file per
// part of the API, until the SDK generated from the OpenAPI document replaces them.
export * from './api-types/common';
export * from './api-types/fleet';
export * from './api-types/sandboxes';
export * from './api-types/tenants';
export * from './api-types/deployments';
