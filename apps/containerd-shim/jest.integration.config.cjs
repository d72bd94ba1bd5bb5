module.exports = require('../../jest.shared.cjs').integrationTests();
