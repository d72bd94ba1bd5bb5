export * from './errors/moat.error';
export * from './fleet/fleet.protocol';
export * from './fleet/node-join';
export * from './agent';
