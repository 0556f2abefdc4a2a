'use strict';
// HTTP plumbing shared by the Node.js peers: the same two endpoints as
// svidgate, on 127.0.0.1 only, with the same audience, exp and SPIFFE ID
// checks, so bench/compare can send every contender the same requests.
//
//   POST /v1/jwt-svid/verify  {"token": "..."}  ->  200 {"valid": true|false, ...}
//   GET  /v1/auth  with Authorization: Bearer   ->  200, or 401 (empty body)
//
// Usage of a peer: node server.js --bundle PUBLIC_PEM --alg ES256 [--port N]
// It prints "listening port=N" once it accepts connections.
const http = require('node:http');

const AUDIENCE = 'bench';
const SPIFFE_PREFIX = 'spiffe://bench.example/';
// svidgate's limit on a request body; a larger body closes the connection.
const MAX_BODY = 1 << 20;

function parseArguments(argv) {
  const options = { port: 0 };
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`option ${name} needs a value`);
    if (name === '--bundle') options.bundle = value;
    else if (name === '--alg') options.alg = value;
    else if (name === '--port') options.port = Number(value);
    else throw new Error(`unknown option ${name}`);
  }
  if (!options.bundle || !options.alg) throw new Error('usage: server.js --bundle PUBLIC_PEM --alg ALG [--port N]');
  return options;
}

// A payload passes when its sub is a SPIFFE ID of the trust domain; the
// library has already checked signature, alg, aud and exp.
function checkSubject(payload) {
  return typeof payload.sub === 'string' && payload.sub.startsWith(SPIFFE_PREFIX);
}

function send(response, status, body) {
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(body);
}

function readBody(request, callback) {
  const chunks = [];
  let length = 0;
  request.on('data', (chunk) => {
    length += chunk.length;
    if (length > MAX_BODY) {
      request.destroy();
      return;
    }
    chunks.push(chunk);
  });
  request.on('end', () => callback(Buffer.concat(chunks).toString('utf8')));
}

function verifyResponse(result) {
  if (result.valid) return JSON.stringify({ valid: true, spiffe_id: result.sub });
  return JSON.stringify({ valid: false, error: result.error });
}

// `verify(token, done)` calls done({valid, sub, error}).
function serve(options, verify) {
  const server = http.createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/v1/auth') {
      const header = request.headers.authorization || '';
      if (!header.startsWith('Bearer ')) {
        send(response, 401, '');
        return;
      }
      verify(header.slice(7), (result) => send(response, result.valid ? 200 : 401, ''));
      return;
    }
    if (request.method === 'POST' && request.url === '/v1/jwt-svid/verify') {
      readBody(request, (text) => {
        let token;
        try {
          token = JSON.parse(text).token;
        } catch (error) {
          send(response, 400, '{"error":"bad_request"}');
          return;
        }
        if (typeof token !== 'string') {
          send(response, 400, '{"error":"bad_request"}');
          return;
        }
        verify(token, (result) => send(response, 200, verifyResponse(result)));
      });
      return;
    }
    send(response, 404, '{"error":"not_found"}');
  });
  server.keepAliveTimeout = 60000;
  server.listen(options.port, '127.0.0.1', () => {
    console.log(`listening port=${server.address().port}`);
  });
}

module.exports = { AUDIENCE, SPIFFE_PREFIX, parseArguments, checkSubject, serve };
