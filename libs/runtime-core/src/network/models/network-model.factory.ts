import type { NetAdapter } from '../../host/net.adapter';
import type { NetworkModelKind } from '../network.types';
import { BridgeModel } from './bridge.model';
import { MacvtapModel } from './macvtap.model';
import type { NetworkModel } from './network-model';
import { TcFilterModel } from './tc-filter.model';

/** The one place that knows every network model. */
export function createNetworkModel(kind: NetworkModelKind, net: NetAdapter): NetworkModel {
  switch (kind) {
    case 'tcfilter':
      return new TcFilterModel(net);
    case 'macvtap':
      return new MacvtapModel(net);
    case 'bridge':
      return new BridgeModel(net);
  }
}
