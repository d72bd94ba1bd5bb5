import type { AgentApi } from '../../agent/agent.client';
import type { GuestNetConfig } from '../../network/network.types';
import { guestRequests } from '../../network/sandbox-networks';

/** Gives the guest's eth0 the CNI result's MAC-matched NIC its addresses, then its routes. */
export async function configureGuestNetwork(agent: Pick<AgentApi, 'updateInterface' | 'updateRoutes'>, guest: GuestNetConfig): Promise<void> {
  const { iface, routes } = guestRequests(guest);
  await agent.updateInterface(iface);
  await agent.updateRoutes(routes);
}
