'use strict';
// The h1conform driver protocol, version 1 (docs/driver-protocol.md), shared by the Node.js
// drivers: JSON lines on stdin and stdout, one command answered at a time, and the encodings
// of HTTP bytes in JSON (one character U+0000..U+00FF per byte; bodies in base64).

const fs = require('node:fs');
const readline = require('node:readline');

const PROTOCOL = 1;

function bodyBytes(base64) {
  return base64 === null ? null : Buffer.from(base64, 'base64');
}

// Node decodes header names, values and reasons as latin1 ("binary"), one character per byte,
// which is exactly the protocol's encoding: only bodies need converting.
function responseAnswer({ status, reason, version, headers, body }) {
  return { response: { status, reason, version, headers, body: body.toString('base64') } };
}

function errorAnswer(kind, type, message) {
  return { error: { kind, type: String(type), message: String(message) } };
}

function unsupportedAnswer(reason) {
  return { unsupported: String(reason) };
}

// The options of node:tls (which both clients take) for an open's `tls` settings: null is the
// client's defaults; `check_hostname: false` keeps the chain's verification, not the name's.
function tlsOptions(settings) {
  if (settings === null) return {};
  const options = {};
  if (settings.ca_file !== null) options.ca = fs.readFileSync(settings.ca_file);
  if (settings.client_cert !== null) {
    // One PEM holds the chain and the key: OpenSSL picks the certificates for `cert` and the key
    // for `key` out of it.
    options.cert = fs.readFileSync(settings.client_cert);
    options.key = options.cert;
  }
  if (!settings.check_hostname) options.checkServerIdentity = () => undefined;
  return options;
}

// Node's raw header list is flat ([name, value, name, value...]); the protocol's is pairs.
function pairsFromRaw(rawHeaders) {
  const pairs = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    pairs.push([rawHeaders[i], rawHeaders[i + 1]]);
  }
  return pairs;
}

function write(message) {
  // JSON.stringify escapes control characters and lone surrogates, so whatever text a client
  // put in a message stays one valid JSON line.
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

// Runs the driver: says hello, then answers each command in turn until stdin ends.
// `driver.openSession(open)` returns a session ({request(command), close()}); `session.request`
// resolves to a response, error or unsupported answer. Whatever else fails is this driver's bug:
// the rejection ends the process, and the suite reports the scenario as an error.
async function serve(hello, driver) {
  write({ type: 'hello', protocol: PROTOCOL, ...hello });
  const sessions = new Map();
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const command = JSON.parse(line);
    write({ id: command.id, ...(await answer(command, sessions, driver)) });
  }
  await Promise.all([...sessions.values()].map((session) => session.close()));
  process.exit(0);
}

async function answer(command, sessions, driver) {
  switch (command.op) {
    case 'open':
      sessions.set(command.session, driver.openSession(command));
      return { ok: true };
    case 'request':
      await eventsAlreadyArrived();
      return sessionOf(sessions, command).request(command);
    case 'close':
      await sessionOf(sessions, command).close();
      sessions.delete(command.session);
      return { ok: true };
    default:
      throw new Error(`unknown op ${JSON.stringify(command.op)}`);
  }
}

// The suite sends a command once its server's moves are done (an idle connection closed, say),
// but this loop may read the command in the same turn of the event loop as the socket events
// that came before it, and then run the request before the client has seen them. A program's
// next request comes from a later event: so let the event loop go round once, taking in what
// already arrived, before the request starts. (An immediate scheduled from an immediate runs
// after the next poll phase.)
function eventsAlreadyArrived() {
  return new Promise((resolve) => { setImmediate(() => setImmediate(resolve)); });
}

function sessionOf(sessions, command) {
  const session = sessions.get(command.session);
  if (session === undefined) throw new Error(`no open session ${JSON.stringify(command.session)}`);
  return session;
}

module.exports = {
  bodyBytes, errorAnswer, pairsFromRaw, responseAnswer, serve, tlsOptions, unsupportedAnswer,
};
