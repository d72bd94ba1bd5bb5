import { Logger } from '@nestjs/common';
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
  private readonly logger = new Logger(UiGateway.name);

  constructor(
    private readonly auth: AuthService,
    private readonly channel: UiChannel,
  ) {}

  afterInit(namespace: UiNamespace): void {
    this.channel.attach(namespace);
    namespace.use((socket, next) => {
      const token: unknown = (socket.handshake.auth as Record<string, unknown>).token;
      this.auth.resolve(typeof token === 'string' ? token : undefined).then(
        (principal) => {
          if (!principal) return next(new Error('unauthenticated'));
          (socket.data as UiSocketData).principal = principal;
          next();
        },
        (err: unknown) => {
          this.logger.error({ err }, 'dashboard authentication failed');
          next(new Error('internal error'));
        },
      );
    });
  }

  async handleConnection(socket: Socket): Promise<void> {
    const { principal } = socket.data as UiSocketData;
    await socket.join(principal.kind === 'admin' ? ADMIN_ROOM : tenantRoom(principal.tenantId));
  }
}
