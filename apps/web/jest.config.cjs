// Unit tests cover the dashboard's pure logic only (formatting, parsing, the live-state
// reducer); the rendered pages are exercised end to end by e2e/browser.
module.exports = require('../../jest.shared.cjs').unitTests({ folders: ['lib'] });
