#!/usr/bin/env node
// The CLI bundle lives in dist/cli/; this file keeps `node dist/cli.js` short.
import './cli/index.js';
