export * from './errors/moat.error';
export * from './fleet/fleet.protocol';
export * from './agent';
