import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

/**
 * Shares socket.io rooms through Redis, so that a replica can reach an agent or dashboard
 * connected to another one. Without a Redis URL it is Nest's plain socket.io adapter.
 */
export class RedisIoAdapter extends IoAdapter {
  private redis?: { adapter: ReturnType<typeof createAdapter>; close: () => Promise<void> };

  constructor(app: INestApplicationContext) {
    super(app);
  }

  async connect(url: string, keyPrefix: string): Promise<void> {
    const pub = createClient({ url });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    this.redis = {
      adapter: createAdapter(pub, sub, { key: `${keyPrefix}:socket.io` }),
      close: async () => {
        await Promise.all([pub.quit(), sub.quit()]);
      },
    };
  }

  override createIOServer(...args: Parameters<IoAdapter['createIOServer']>): ReturnType<IoAdapter['createIOServer']> {
    const server = super.createIOServer(...args);
    if (this.redis) server.adapter(this.redis.adapter);
    return server;
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    const redis = this.redis;
    this.redis = undefined;
    await redis?.close();
  }
}
