'use strict';
// The error kinds of the protocol for the errors both Node.js clients share: they run over
// node:net and node:tls sockets, and parse responses with llhttp (Node's own build for http,
// undici's WebAssembly build for fetch), whose errors carry the same HPE_* codes.

// llhttp's codes that mean the input stopped inside a message rather than broke its syntax.
const EARLY_END_CODES = new Set(['HPE_INVALID_EOF_STATE']);

// OpenSSL's certificate verification results, which Node gives as the error's code.
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
]);

// The kind of an error with a Node error code from these layers, or null for other codes.
// `headReceived` tells whether the whole response head had arrived when it happened.
function socketErrorKind(code, headReceived) {
  if (code.startsWith('HPE_')) {
    // llhttp refused the bytes: a syntax or framing error, unless the input just stopped.
    return EARLY_END_CODES.has(code) ? 'incomplete-message' : 'protocol-error';
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    // A reset (or a write to a closed connection) is the end of the connection: before the
    // response's head, nothing of a response came; after it, the body was cut short.
    return headReceived ? 'incomplete-message' : 'connection-closed';
  }
  // Refused: the connection never existed, so it ended before any response.
  if (code === 'ECONNREFUSED') return 'connection-closed';
  // EPROTO: Node's TLS layer failed to write, OpenSSL's reason in the message (bytes that were
  // not TLS, as "wrong version number"); plain TCP sockets never report it.
  if (code === 'EPROTO') return 'tls-failure';
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || CERTIFICATE_CODES.has(code)) {
    // A failed handshake (OpenSSL's reason as ERR_SSL_*), a certificate that did not verify, or
    // a name that did not match (ERR_TLS_CERT_ALTNAME_INVALID).
    return 'tls-failure';
  }
  return null;
}

module.exports = { socketErrorKind };
