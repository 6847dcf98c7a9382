#!/usr/bin/env node
require("../../../dist/apps/cli/src/main.js");
