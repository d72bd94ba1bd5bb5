import { join } from 'node:path';
import type { AgentConfig } from '../../config/agent.config';
import type { Logger } from '../../log/logger';
import type { AgentTransport } from '../agent-transport';
import { UnixSocketTransport } from '../unix/unix-socket.transport';
import { VirtioSerialTransport } from '../virtio-serial/virtio-serial.transport';

export function createTransport(config: AgentConfig, log: Logger, onFatal: (error: unknown) => void): AgentTransport {
  const listen = config.listen;
  switch (listen.kind) {
    case 'unix':
      return new UnixSocketTransport(listen.path);
    case 'virtio-serial':
      return new VirtioSerialTransport(listen.portName, join(config.runDir, 'agent.sock'), log, onFatal);
  }
}
