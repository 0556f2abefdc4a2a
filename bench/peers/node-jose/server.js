'use strict';
// Peer: Node.js http server verifying JWT-SVIDs with `jose` (no cache).
// See ../common.js for the endpoints and options.
const fs = require('node:fs');
const jose = require('jose');
const common = require('../common.js');

async function main() {
  const options = common.parseArguments(process.argv);
  const key = await jose.importSPKI(fs.readFileSync(options.bundle, 'utf8'), options.alg);
  const verifyOptions = { algorithms: [options.alg], audience: common.AUDIENCE };

  common.serve(options, (token, done) => {
    jose.jwtVerify(token, key, verifyOptions).then(
      ({ payload }) => {
        if (common.checkSubject(payload)) done({ valid: true, sub: payload.sub });
        else done({ valid: false, error: 'invalid_spiffe_id' });
      },
      (error) => done({ valid: false, error: error.code || 'invalid' }),
    );
  });
}

main().catch((error) => {
  console.error(`node-jose: ${error.message}`);
  process.exit(2);
});
