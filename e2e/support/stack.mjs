// The local stack `npm start` runs (tools/dev/stack.mjs), for tests that need one of their own.
export { apiRequest, startStack } from '../../tools/dev/stack.mjs';
