export * from './errors/moat.error';
export * from './fleet/fleet.protocol';
export * from './fleet/node-join';
export * from './fleet/sandbox-fences';
export * from './agent';
