'use strict';
// Peer: Node.js http server verifying JWT-SVIDs with `fast-jwt`, its
// verification cache on. See ../common.js for the endpoints and options.
const fs = require('node:fs');
const { createVerifier } = require('fast-jwt');
const common = require('../common.js');

// Entries of fast-jwt's cache: room for the hot set and more.
const CACHE_SIZE = 100000;

function main() {
  const options = common.parseArguments(process.argv);
  const verifier = createVerifier({
    key: fs.readFileSync(options.bundle, 'utf8'),
    algorithms: [options.alg],
    allowedAud: common.AUDIENCE,
    cache: CACHE_SIZE,
  });

  common.serve(options, (token, done) => {
    let payload;
    try {
      payload = verifier(token);
    } catch (error) {
      done({ valid: false, error: error.code || 'invalid' });
      return;
    }
    if (common.checkSubject(payload)) done({ valid: true, sub: payload.sub });
    else done({ valid: false, error: 'invalid_spiffe_id' });
  });
}

try {
  main();
} catch (error) {
  console.error(`node-fast-jwt: ${error.message}`);
  process.exit(2);
}
