import { describe, expect, it } from '@jest/globals';
import { PacedQueue } from './paced-queue';

describe('PacedQueue', () => {
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

  it('runs tasks after the current turn, in the order they were queued', async () => {
    const queue = new PacedQueue(() => undefined);
    const ran: number[] = [];
    const pushed = Array.from({ length: 5 }, (_, i) => queue.push(() => ran.push(i)));
    expect(ran).toEqual([]);
    await pushed[2];
    expect(ran.slice(0, 3)).toEqual([0, 1, 2]);
    await settle();
    expect(ran).toEqual([0, 1, 2, 3, 4]);
  });

  it('lets the event loop serve others between slices of a long run', async () => {
    const queue = new PacedQueue(() => undefined);
    const order: string[] = [];
    for (let i = 0; i < 20; i++) {
      void queue.push(() => {
        const end = performance.now() + 2;
        while (performance.now() < end);
        order.push('task');
      });
    }
    setTimeout(() => order.push('timer'), 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const timerAt = order.indexOf('timer');
    expect(timerAt).toBeGreaterThan(0);
    expect(timerAt).toBeLessThan(order.length - 1);
    expect(order.filter((entry) => entry === 'task')).toHaveLength(20);
  });

  it('reports a failing task and goes on with the rest', async () => {
    const errors: unknown[] = [];
    const queue = new PacedQueue((err) => errors.push(err));
    const ran: string[] = [];
    const failing = queue.push(() => {
      throw new Error('socket gone');
    });
    void queue.push(() => ran.push('next'));
    await failing;
    await settle();
    expect(errors).toEqual([new Error('socket gone')]);
    expect(ran).toEqual(['next']);
  });
});
