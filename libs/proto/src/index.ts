export * from './fleet/fleet.protocol';
export * from './agent';
