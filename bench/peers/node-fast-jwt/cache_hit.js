'use strict';
// In-process cost of a fast-jwt cache hit: one token verified once, then
// verified again ITERATIONS times from fast-jwt's cache.
//
// Usage: node cache_hit.js PUBLIC_PEM ALG TOKENS_FILE [ITERATIONS]
// Prints one JSON line: {"ns_per_hit": ..., "iterations": ...}.
const fs = require('node:fs');
const { createVerifier } = require('fast-jwt');

const [pemPath, alg, tokensPath, iterationsText] = process.argv.slice(2);
if (!tokensPath) {
  console.error('usage: node cache_hit.js PUBLIC_PEM ALG TOKENS_FILE [ITERATIONS]');
  process.exit(2);
}
const iterations = Number(iterationsText || 2000000);
const token = fs.readFileSync(tokensPath, 'utf8').split('\n')[0];
const verifier = createVerifier({
  key: fs.readFileSync(pemPath, 'utf8'),
  algorithms: [alg],
  allowedAud: 'bench',
  cache: 1000,
});

// The first call verifies and fills the cache; the warm-up lets V8
// optimise the hit path before it is timed.
verifier(token);
for (let i = 0; i < 100000; i++) verifier(token);

const start = process.hrtime.bigint();
let sink = 0;
for (let i = 0; i < iterations; i++) sink += verifier(token).exp & 1;
const elapsed = Number(process.hrtime.bigint() - start);
console.log(JSON.stringify({ ns_per_hit: elapsed / iterations, iterations, sink }));
