import type { NetAdapter } from '../../host/net.adapter';
import type { TunAdapter } from '../../host/tun.adapter';
import { BridgeModel } from './bridge.model';
import { MacvtapModel } from './macvtap.model';
import type { NetworkModel, NetworkModelKind } from './network-model';
import { TcFilterModel } from './tc-filter.model';

/** The one place that knows every network model. */
export function createNetworkModel(kind: NetworkModelKind, net: NetAdapter, tun: TunAdapter): NetworkModel {
  switch (kind) {
    case 'tcfilter':
      return new TcFilterModel(net, tun);
    case 'macvtap':
      return new MacvtapModel(net);
    case 'bridge':
      return new BridgeModel(net, tun);
  }
}
