module.exports = require('../../jest.shared.cjs').unitTests();
