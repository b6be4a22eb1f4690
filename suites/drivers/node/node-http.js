'use strict';
// h1conform driver for Node.js's own HTTP client: http.request / https.request, one keep-alive
// Agent per session, Node's default (strict) llhttp parser. See docs/driver-protocol.md.

const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const tls = require('node:tls');
const {
  bodyBytes, errorAnswer, pairsFromRaw, responseAnswer, serve, tlsOptions,
} = require('./protocol');
const { socketErrorKind } = require('./socket-errors');

// Codes of the errors Node throws while building a request, before it opens a connection:
// a method or header name that is not a token, a header value with a control character, a path
// with characters that must be escaped, a URL its WHATWG parser rejects.
const VALIDATION_CODES = [
  'ERR_INVALID_HTTP_TOKEN', 'ERR_INVALID_CHAR', 'ERR_UNESCAPED_CHARACTERS', 'ERR_INVALID_URL',
];

// The kind of an error Node reported for a request; `headReceived` tells whether the response's
// head had arrived when it happened. Node names a reset and its own "socket hang up" (the server
// closed before a whole response head) and "aborted" (closed during the body) all ECONNRESET.
function errorKind(error, headReceived) {
  return socketErrorKind(String(error.code ?? ''), headReceived) ?? 'unclassified';
}

// Node's header map is case-insensitive (setting a name again replaces it), so repeated names, in
// any case, become one entry with an array of values: Node sends one line per value, in order,
// under the name's first spelling. (The flat "raw" array form would keep every line as given, but
// with it Node writes the head at once: no Host, and every body chunked.)
function headerObject(pairs) {
  const byName = new Map();
  for (const [name, value] of pairs) {
    const entry = byName.get(name.toLowerCase());
    if (entry === undefined) {
      byName.set(name.toLowerCase(), [name, [value]]);
    } else {
      entry[1].push(value);
    }
  }
  return Object.fromEntries([...byName.values()].map(
    ([name, values]) => [name, values.length === 1 ? values[0] : values],
  ));
}

// Node has no proxy support of its own: a forward proxy is an Agent whose connections go to the
// proxy (the request keeps its target's host, so Node writes the target's Host), while the
// request names the absolute URL as its path. This is how http-proxy-agent does it.
function forwardProxyAgent(proxy, agentOptions) {
  const agent = new http.Agent(agentOptions);
  agent.createConnection = (options) => net.createConnection({
    ...options, host: proxy.hostname, port: proxy.port,
  });
  return agent;
}

// An https Agent whose connections are TLS over a CONNECT tunnel, opened with http.request as in
// Node's documentation of the 'connect' event.
function tunnelAgent(proxy, agentOptions) {
  const agent = new https.Agent(agentOptions);
  agent.createConnection = (options, done) => {
    const authority = net.isIPv6(options.host) ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
    const connect = http.request({
      host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: authority, agent: false,
      headers: { Host: authority }, timeout: agentOptions.timeout,
    });
    connect.once('timeout', () => connect.destroy(timeoutError(agentOptions.timeout)));
    connect.once('error', done);
    connect.once('connect', (response, socket) => {
      if (response.statusCode < 200 || response.statusCode > 299) {
        socket.destroy();
        done(Object.assign(new Error(`the proxy answered CONNECT with ${response.statusCode}`),
          { code: 'ERR_TUNNEL_REFUSED' }));
        return;
      }
      done(null, tls.connect({ ...options, socket }));
    });
    connect.end();
  };
  return agent;
}

// A socket inactivity timeout is only an event in Node: the caller destroys the request, with an
// error of its choosing.
function timeoutError(milliseconds) {
  return Object.assign(new Error(`no activity on the socket for ${milliseconds} ms`), { code: 'ETIMEDOUT' });
}

class Session {
  constructor({ timeout, tls: tlsSettings, proxy }) {
    this.timeout = Math.ceil(timeout * 1000);
    const agentOptions = { keepAlive: true, timeout: this.timeout };
    const secureOptions = { ...agentOptions, ...tlsOptions(tlsSettings) };
    if (proxy === null) {
      this.agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(secureOptions) };
      this.proxied = false;
    } else {
      const proxyUrl = new URL(proxy);
      this.agents = {
        'http:': forwardProxyAgent(proxyUrl, agentOptions),
        'https:': tunnelAgent(proxyUrl, secureOptions),
      };
      this.proxied = true;
    }
  }

  request(command) {
    let target;
    try {
      target = new URL(command.url);
    } catch (error) {
      return refusal(error);
    }
    const transport = target.protocol === 'https:' ? https : http;
    const options = {
      method: command.method,
      headers: headerObject(command.headers),
      agent: this.agents[target.protocol],
      timeout: this.timeout,
    };
    // Through a forward proxy, the request line carries the absolute URL.
    if (this.proxied && target.protocol === 'http:') options.path = target.href;
    return new Promise((resolve) => {
      let outgoing;
      try {
        outgoing = transport.request(target, options);
      } catch (error) {
        resolve(refusal(error));
        return;
      }
      exchange(outgoing, bodyBytes(command.body), resolve);
    });
  }

  async close() {
    const agents = Object.values(this.agents);
    const sockets = agents.flatMap((agent) => [agent.sockets, agent.freeSockets])
      .flatMap((byName) => Object.values(byName).flat());
    agents.forEach((agent) => agent.destroy());
    // Answer only once every connection is really closed: the suite then looks at the kernel.
    await Promise.all(sockets.filter((socket) => !socket.closed)
      .map((socket) => new Promise((closed) => { socket.once('close', closed); })));
  }
}

// An error thrown while the request was built: the client's input check if its code is one,
// else a bug of this driver, which must not pass for the client's behaviour.
function refusal(error) {
  if (VALIDATION_CODES.includes(error.code)) return errorAnswer('invalid-input', error.code, error.message);
  throw error;
}

// The protocol's response for a message Node parsed (final, or the 101 / 2xx of an upgrade or
// CONNECT); `body` holds its content.
function answerFor(incoming, body) {
  return responseAnswer({
    status: incoming.statusCode,
    reason: incoming.statusMessage,
    version: `HTTP/${incoming.httpVersion}`,
    headers: pairsFromRaw(incoming.rawHeaders),
    body,
  });
}

// Sends the request and reads the whole response; `settle` receives the first outcome only.
// A response is the outcome once the request is over too ('close': its body sent, or its
// connection gone), so that the session is never closed under a body Node is still sending.
function exchange(outgoing, body, settle) {
  let settled = false;
  let incoming = null;
  let responseRead = null;
  let requestOver = false;
  const finish = (answer) => {
    if (!settled) {
      settled = true;
      settle(answer);
    }
  };
  const finishWhenBothEnded = () => {
    if (responseRead !== null && requestOver) finish(responseRead);
  };
  const fail = (error) => finish(errorAnswer(errorKind(error, incoming !== null), error.code ?? error.name, error.message));
  // The type names Node's 'timeout' event: Node raises no error of its own for it.
  outgoing.on('timeout', () => {
    const error = timeoutError(outgoing.timeout);
    finish(errorAnswer('timeout', 'timeout', error.message));
    outgoing.destroy(error);
  });
  outgoing.on('error', (error) => {
    // Node parses bytes that follow a complete response as the next response and reports their
    // error on the request; the response itself is whole, and Node still ends it normally.
    if (incoming === null || !incoming.complete) fail(error);
  });
  outgoing.on('close', () => {
    requestOver = true;
    finishWhenBothEnded();
  });
  outgoing.on('response', (response) => {
    incoming = response;
    const chunks = [];
    incoming.on('data', (chunk) => chunks.push(chunk));
    incoming.on('error', fail);
    incoming.on('end', () => {
      responseRead = answerFor(incoming, Buffer.concat(chunks));
      finishWhenBothEnded();
    });
  });
  // A 101 to an Upgrade, or a 2xx to CONNECT, hands the connection over to another protocol: Node
  // gives the response head and the socket instead of a 'response'. The head is the outcome; the
  // socket, of no use here, is closed.
  const switched = (response, socket) => {
    finish(answerFor(response, Buffer.alloc(0)));
    socket.destroy();
  };
  outgoing.on('upgrade', switched);
  outgoing.on('connect', switched);
  outgoing.end(body ?? undefined);
}

serve({
  name: 'node-http',
  client: 'Node.js http',
  version: `node ${process.version}`,
  features: [
    'custom-methods', 'duplicate-headers', 'reason-phrase', 'response-version', 'tls',
    'client-certificate', 'forward-proxy', 'connect-tunnel', 'persistent-connections', 'field-order',
  ],
  validation_errors: VALIDATION_CODES,
}, { openSession: (open) => new Session(open) });
