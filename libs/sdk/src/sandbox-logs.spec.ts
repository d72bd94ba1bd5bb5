import { describe, expect, it } from '@jest/globals';
import { Moat } from './moat.client';
import { MoatApiError, MoatClientError } from './moat.error';
import type { LogChunk } from './sandbox-logs';
import { FakeApi, sandboxOf } from './testing';

const SANDBOX = sandboxOf({ state: 'running' });
const LOGS_ROUTE = `GET /v1/sandboxes/${SANDBOX.id}/logs`;
const TIME = '2026-01-02T15:04:05.006Z';

const event = (seq: number, stream: string, text: string) => `id: ${seq}\nevent: ${stream}\ndata: ${JSON.stringify({ time: TIME, text })}\n\n`;

async function collect(logs: AsyncIterable<LogChunk>): Promise<LogChunk[]> {
  const chunks: LogChunk[] = [];
  for await (const chunk of logs) chunks.push(chunk);
  return chunks;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('sandbox.logs', () => {
  const sandboxOn = async (fake: FakeApi) => {
    fake.reply(`GET /v1/sandboxes/${SANDBOX.id}`, { status: 200, body: SANDBOX });
    return new Moat({ apiUrl: 'http://moat.test:8080', token: 'tenant-key', fetch: fake.fetch }).sandboxes.get(SANDBOX.id);
  };

  it('asks for server-sent events with the options as query and gives each chunk with its stream and time until end', async () => {
    const fake = new FakeApi().reply(LOGS_ROUTE, { status: 200, eventStream: `: waiting\n\n${event(1, 'stdout', 'hi\n')}${event(2, 'stderr', 'oops\n')}event: end\ndata: {}\n\n` });
    const sandbox = await sandboxOn(fake);
    const chunks = await collect(sandbox.logs({ follow: true, since: new Date(TIME), tail: 10 }));
    expect(chunks).toEqual([
      { stream: 'stdout', time: TIME, text: 'hi\n' },
      { stream: 'stderr', time: TIME, text: 'oops\n' },
    ]);
    const seen = fake.seen.at(-1);
    expect(seen).toMatchObject({ path: `/v1/sandboxes/${SANDBOX.id}/logs`, accept: 'text/event-stream', authorization: 'Bearer tenant-key' });
    expect(Object.fromEntries(seen?.query ?? [])).toEqual({ follow: 'true', since: TIME, tail: '10' });
  });

  it('ends quietly without end when not following: everything held was sent', async () => {
    const fake = new FakeApi().reply(LOGS_ROUTE, { status: 200, eventStream: event(1, 'stdout', 'so far\n') });
    expect(await collect((await sandboxOn(fake)).logs())).toEqual([{ stream: 'stdout', time: TIME, text: 'so far\n' }]);
    expect(fake.seen.at(-1)?.query.toString()).toBe('');
  });

  it('says LOGS_INTERRUPTED when a followed stream breaks off before end', async () => {
    const fake = new FakeApi().reply(LOGS_ROUTE, { status: 200, eventStream: event(1, 'stdout', 'partial') });
    const err = await rejectionOf(collect((await sandboxOn(fake)).logs({ follow: true })));
    expect(err).toBeInstanceOf(MoatClientError);
    expect(err).toMatchObject({ code: 'LOGS_INTERRUPTED' });
  });

  it("throws the API's refusal as a MoatApiError with its code and status", async () => {
    const fake = new FakeApi().reply(LOGS_ROUTE, { status: 409, body: { error: { code: 'SANDBOX_NOT_RUNNING', message: 'sandbox is pending' } } });
    const err = await rejectionOf(collect((await sandboxOn(fake)).logs()));
    expect(err).toBeInstanceOf(MoatApiError);
    expect(err).toMatchObject({ status: 409, code: 'SANDBOX_NOT_RUNNING', message: 'sandbox is pending' });
  });
});
