#!/usr/bin/env node
// `nco` (npm workspace bin): runs the CLI compiled by `npm run build` (npm ci/install runs it).
const { join } = require('node:path');
const main = join(__dirname, '../../../dist/apps/cli/src/main.js');
try {
  require.resolve(main);
} catch {
  process.stderr.write(`nco: ${main} is missing: run \`npm run build\` (or \`npm ci\`) in the repository first\n`);
  process.exit(1);
}
require(main);
