/** `@moat/sdk/testing`: for tests of code built on the SDK. */
export { FakeApi, type SeenRequest } from './fake-api';
export { nodeOf, sandboxOf } from './fixtures';
export { FakeAttachServer, FakeAttachSession, type FakeAttachServerOptions, type SessionEvent } from './fake-attach-server';
