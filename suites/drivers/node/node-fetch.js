'use strict';
// h1conform driver for Node.js's built-in fetch (undici): redirect "manual", and per session a
// dispatcher from the npm package undici, pinned in package.json to the release Node 20 bundles
// (process.versions.undici): Node exposes no constructor for its own dispatcher, and fetch takes
// any undici dispatcher as its `dispatcher` option. See docs/driver-protocol.md.
//
// Caveat: fetch decodes the body by its Content-Encoding (gzip, x-gzip, deflate, br) by itself,
// as the Fetch standard says, and no option turns that off; it also asks for it, sending
// "accept-encoding: gzip, deflate" on every request ("br, gzip, deflate" over https).
//
// Agent mode (docs/driver-protocol.md, section 4): an agent session is fetch with its defaults,
// redirect "follow" (20 hops at most, the Fetch standard's limit); fetch keeps no cookies and
// retries nothing, so the agent features are the redirects and the codings it decodes. Answers
// carry no final `url` (Response.url drops the fragment). Streamed reads go through the body's
// ReadableStream with a BYOB reader, one chunk_size buffer reused.

const undici = require('undici');
const {
  bodyBytes, errorAnswer, responseAnswer, serve, tlsOptions, unsupportedAnswer,
} = require('./protocol');
const { socketErrorKind } = require('./socket-errors');

// Methods the Fetch standard forbids (compared case-insensitively): fetch cannot send them.
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

// Header fields undici's dispatcher refuses to take from a caller (UND_ERR_INVALID_ARG): it
// writes the message framing and connection management itself.
const DISPATCHER_OWNED_HEADERS = new Set(['connection', 'transfer-encoding', 'keep-alive', 'upgrade']);

// fetch drops a caller's Host (a forbidden request-header in the Fetch standard) and writes its
// own: it cannot send one.
const DROPPED_HEADERS = new Set(['host']);

// undici refuses a body whose length differs from the request's Content-Length, once connected
// but before writing a byte of the request. It is an input check when the caller gave that
// Content-Length; fetch's own (it sets one from the body) mismatches only in undici's retries,
// after the request went out once (fetch repeats a request answered 421, as the Fetch standard
// says).
const LENGTH_MISMATCH = 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH';

// The type under which this driver reports the TypeError of fetch's Request constructor, which
// checks the URL, the method, the header names and values and whether the method may have a body,
// before any network activity: fetch's own input check, and only that.
const REQUEST_REFUSED = 'TypeError';

// How much of a streamed body the answer carries (docs/driver-protocol.md: the first 64 KiB).
const HEAD_KEPT = 65536;

// undici's timeouts: waiting for the connection, for a whole response head, for a body chunk.
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

// undici's own refusals of a response, beside llhttp's HPE_* ones: a header section over its
// bound (maxHeaderSize), and a body shorter than its Content-Length when the connection ended
// (undici then takes what came as the whole message, and checks its length).
const RESPONSE_ERROR_KINDS = new Map([
  ['UND_ERR_HEADERS_OVERFLOW', 'protocol-error'],
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'incomplete-message'],
]);

// A SocketError (UND_ERR_SOCKET) is undici's code for a connection that ended ("other side
// closed", "closed"), and also for two responses it refuses outside llhttp, told apart only by
// the message (lib/dispatcher/client-h1.js): a 100 (Continue) (undici sends no Expect and does
// not read one), and a 101 to a request that asked for no upgrade.
const REFUSED_RESPONSE_MESSAGES = new Set(['bad response', 'bad upgrade']);

// What fetch does by itself as a user agent (its agent mode): it follows redirects and decodes
// these codings (lib/web/fetch/index.js); it has no cookie jar and retries nothing.
const AGENT_FEATURES = ['follows-redirects', 'decodes-gzip', 'decodes-deflate', 'decodes-br'];

// fetch's refusals to follow a redirect are network errors whose cause is an Error without a
// code, told apart by its fixed message (the Fetch standard's "HTTP-redirect fetch" steps); a
// Location that is no URL fails the WHATWG URL parser (ERR_INVALID_URL: the request's own URL
// was parsed by the Request constructor before, see buildRequest).
const REDIRECT_REFUSALS = new Set(['redirect count exceeded', 'URL scheme must be a HTTP(S) scheme']);
const INVALID_LOCATION = 'ERR_INVALID_URL';

// Decoding failures: zlib's codes (gzip, deflate), Node's codes for brotli's decoder errors
// (ERR_ and the decoder's BROTLI_DECODER_ERROR_* name without its prefix), and fetch's bound on
// the number of codings, an Error without a code (its message starts so).
const ZLIB_CODES = new Set(['Z_DATA_ERROR', 'Z_BUF_ERROR', 'Z_NEED_DICT', 'Z_STREAM_ERROR']);
const BROTLI_CODE_PREFIX = 'ERR__ERROR_';
const TOO_MANY_CODINGS = 'too many content-encodings';

// The agent-mode kind of fetch's error `cause` (the innermost of its chain), or null for the
// errors both modes share. The type is the code, or the fixed message for an error without one.
function agentFailure(cause) {
  if (cause.code === undefined) {
    if (REDIRECT_REFUSALS.has(cause.message)) return errorAnswer('redirect-refused', cause.message, cause.message);
    if (String(cause.message).startsWith(TOO_MANY_CODINGS)) {
      return errorAnswer('decoding-error', TOO_MANY_CODINGS, cause.message);
    }
    return null;
  }
  const code = String(cause.code);
  if (code === INVALID_LOCATION) return errorAnswer('redirect-refused', code, cause.message);
  if (ZLIB_CODES.has(code) || code.startsWith(BROTLI_CODE_PREFIX)) return errorAnswer('decoding-error', code, cause.message);
  return null;
}

function dispatcher({ timeout, tls: tlsSettings, proxy }) {
  const milliseconds = Math.ceil(timeout * 1000);
  const timeouts = { headersTimeout: milliseconds, bodyTimeout: milliseconds };
  const connect = { timeout: milliseconds, ...tlsOptions(tlsSettings) };
  if (proxy === null) return new undici.Agent({ ...timeouts, connect });
  // proxyTunnel false: http URLs go to the proxy in absolute form; https ones always tunnel.
  return new undici.ProxyAgent({
    uri: proxy, proxyTunnel: false, ...timeouts, proxyTls: { timeout: milliseconds }, requestTls: connect,
  });
}

// The innermost error of fetch's chain (a network error's `cause`) that carries a code, else
// the innermost error.
function innermostCause(error) {
  let innermost = error;
  let coded = null;
  for (let link = error; link instanceof Error; link = link.cause) {
    innermost = link;
    if (link.code !== undefined) coded = link;
  }
  return coded ?? innermost;
}

// The answer for a failed fetch or body read; `headReceived` tells which it was, `agent` whether
// the session is an agent session (whose errors include redirects refused and failed decoding).
function failureAnswer(error, command, headReceived, agent) {
  const cause = innermostCause(error);
  const agentAnswer = agent ? agentFailure(cause) : null;
  if (agentAnswer !== null) return agentAnswer;
  if (cause instanceof undici.errors.HTTPParserError) {
    // llhttp refused the bytes; undici leaves the code out for some of llhttp's errors.
    const kind = cause.code === undefined ? 'protocol-error' : socketErrorKind(cause.code, headReceived);
    return errorAnswer(kind, cause.code ?? cause.name, cause.message);
  }
  if (cause.code === undefined) {
    // fetch's port blocking ("bad port": 9, 25, 6000... in the Fetch standard) is a network error
    // without a code: fetch cannot reach those ports at all.
    if (cause.message === 'bad port') return unsupportedAnswer(`fetch blocks the port of ${command.url} (bad port)`);
    return errorAnswer('unclassified', cause.name, cause.message);
  }
  const code = String(cause.code);
  // undici takes no Expect (UND_ERR_NOT_SUPPORTED) and none of the fields it writes itself.
  if (code === 'UND_ERR_NOT_SUPPORTED' || (code === 'UND_ERR_INVALID_ARG' && ownsHeader(command))) {
    return unsupportedAnswer(`undici refuses this request: ${cause.message}`);
  }
  if (code === LENGTH_MISMATCH && hasHeader(command, 'content-length')) {
    return errorAnswer('invalid-input', code, cause.message);
  }
  if (TIMEOUT_CODES.has(code)) return errorAnswer('timeout', code, cause.message);
  if (RESPONSE_ERROR_KINDS.has(code)) return errorAnswer(RESPONSE_ERROR_KINDS.get(code), code, cause.message);
  if (code === 'UND_ERR_SOCKET') {
    if (REFUSED_RESPONSE_MESSAGES.has(cause.message)) return errorAnswer('protocol-error', code, cause.message);
    return errorAnswer(headReceived ? 'incomplete-message' : 'connection-closed', code, cause.message);
  }
  const kind = socketErrorKind(code, headReceived) ?? 'unclassified';
  return errorAnswer(kind, code, cause.message);
}

function ownsHeader(command) {
  return command.headers.some(([name]) => DISPATCHER_OWNED_HEADERS.has(name.toLowerCase()));
}

function hasHeader(command, lowerCaseName) {
  return command.headers.some(([name]) => name.toLowerCase() === lowerCaseName);
}

// fetch's Request, or the answer saying why fetch refused to build it. An agent session follows
// redirects (fetch's default); a wire session follows none.
function buildRequest(command, agent) {
  const dropped = command.headers.find(([name]) => DROPPED_HEADERS.has(name.toLowerCase()));
  if (dropped !== undefined) return unsupportedAnswer(`fetch drops a caller's ${dropped[0]} field and sends its own`);
  try {
    const body = bodyBytes(command.body);
    return new Request(command.url, {
      method: command.method, headers: command.headers, body: body ?? undefined, redirect: agent ? 'follow' : 'manual',
    });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    if (FORBIDDEN_METHODS.has(command.method.toUpperCase())) {
      return unsupportedAnswer(`fetch forbids the method: ${error.message}`);
    }
    return errorAnswer('invalid-input', REQUEST_REFUSED, error.message);
  }
}

class Session {
  constructor(open) {
    this.agent = open.agent === true;
    this.dispatcher = dispatcher(open);
  }

  async request(command) {
    const request = buildRequest(command, this.agent);
    if (!(request instanceof Request)) return request;
    let response;
    try {
      response = await fetch(request, { dispatcher: this.dispatcher });
    } catch (error) {
      return failureAnswer(error, command, false, this.agent);
    }
    if (command.stream !== undefined) return this.streamed(response, command);
    let body;
    try {
      body = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      return failureAnswer(error, command, true, this.agent);
    }
    // fetch exposes no HTTP version, and its Headers iterate sorted by lowercased name, the values
    // of a repeated name combined (Set-Cookie apart): that is the response as fetch gives it. An
    // agent session's answer has no `url`: fetch's Response.url is the final URL serialized
    // without its fragment (the Fetch standard's url getter), never the whole final URL.
    return responseAnswer({
      // statusText is undefined on a response through a forward proxy (undici's Http1ProxyWrapper):
      // the client exposes no reason there.
      status: response.status, reason: response.statusText ?? null, version: null, headers: [...response.headers], body,
    });
  }

  // Reads the body through its stream, chunk_size bytes at most per read, until `limit` bytes or
  // its end; keeps only the first HEAD_KEPT bytes, then cancels the stream (releasing the response).
  async streamed(response, command) {
    const { chunk_size: chunkSize, limit } = command.stream;
    const head = [];
    let kept = 0;
    let received = 0;
    let pieces = 0;
    if (response.body !== null) {
      const reader = response.body.getReader({ mode: 'byob' });
      let buffer = new ArrayBuffer(chunkSize);
      try {
        while (received < limit) {
          const { done, value } = await reader.read(new Uint8Array(buffer));
          if (done) break;
          received += value.byteLength;
          pieces += 1;
          if (kept < HEAD_KEPT) {
            head.push(Buffer.from(value.subarray(0, HEAD_KEPT - kept)));
            kept += head[head.length - 1].length;
          }
          buffer = value.buffer; // the reader hands the same memory back, transferred
        }
      } catch (error) {
        return failureAnswer(error, command, true, this.agent);
      } finally {
        await reader.cancel().catch(() => undefined);
      }
    }
    return { streamed: { received, pieces, head: Buffer.concat(head).toString('base64') } };
  }

  close() {
    return this.dispatcher.destroy();
  }
}

function undiciVersion() {
  const dispatcherVersion = require('undici/package.json').version;
  const fetchVersion = process.versions.undici;
  return dispatcherVersion === fetchVersion
    ? `undici ${fetchVersion}` : `undici ${fetchVersion} (fetch), ${dispatcherVersion} (dispatcher)`;
}

serve({
  name: 'node-fetch',
  client: 'Node.js fetch (undici)',
  version: `node ${process.version}, ${undiciVersion()}`,
  features: [
    'custom-methods', 'reason-phrase', 'tls', 'client-certificate', 'forward-proxy', 'connect-tunnel',
    'persistent-connections',
  ],
  validation_errors: [REQUEST_REFUSED, LENGTH_MISMATCH],
  agent_features: AGENT_FEATURES,
}, { openSession: (open) => new Session(open) });
