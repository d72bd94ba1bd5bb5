import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import { UI_NAMESPACE } from '@moat/proto';
import type { Socket } from 'socket.io';
import { AuthService } from '../auth/auth.service';
import type { Principal } from '../auth/principal';
import { SOCKET_SERVER_OPTIONS } from '../common/socket-server.options';
import { ADMIN_ROOM, tenantRoom, UiChannel, UiNamespace } from './ui.channel';

interface UiSocketData {
  principal: Principal;
}

/** Dashboards connect here with `auth: { token }` (admin token or tenant API key). */
@WebSocketGateway({ namespace: UI_NAMESPACE, ...SOCKET_SERVER_OPTIONS })
export class UiGateway implements OnGatewayInit<UiNamespace>, OnGatewayConnection<Socket> {
  constructor(
    private readonly auth: AuthService,
    private readonly channel: UiChannel,
  ) {}

  afterInit(namespace: UiNamespace): void {
    this.channel.attach(namespace);
    namespace.use(this.auth.socketMiddleware('dashboard'));
  }

  async handleConnection(socket: Socket): Promise<void> {
    const { principal } = socket.data as UiSocketData;
    await socket.join(principal.kind === 'admin' ? ADMIN_ROOM : tenantRoom(principal.tenantId));
  }
}
