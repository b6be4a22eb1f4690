package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"syscall"
)

// Error kinds of the wire profile (docs/driver-protocol.md).
const (
	protocolError     = "protocol-error"
	incompleteMessage = "incomplete-message"
	connectionClosed  = "connection-closed"
	timedOut          = "timeout"
	tlsFailure        = "tls-failure"
	invalidInput      = "invalid-input"
	unclassified      = "unclassified"
)

// An error's `type` is the Go type of the innermost error of its chain, as %T prints it
// ("*net.OpError" unwraps to "syscall.Errno", "x509.UnknownAuthorityError",
// "textproto.ProtocolError"), or, for the errors net/http makes with errors.New or fmt.Errorf
// (all of type *errors.errorString, which tells nothing), the fixed text that starts them, which
// names the check that failed: the prefix of its row below.

// checkRow is one of net/http's errors that has no type of its own, only a message that starts
// with a fixed text.
type checkRow struct {
	prefix string
	kind   string
}

var untypedChecks = []checkRow{
	// net/http's input checks, made before any byte of the request is written.
	{"net/http: invalid method", invalidInput},             // NewRequest and Transport: the method is not a token
	{"net/http: invalid header field name", invalidInput},  // Transport: a name that is not a token
	{"net/http: invalid header field value", invalidInput}, // Transport: a value with CR, LF, NUL or another CTL
	// Request.write, on a dialled connection but before its first write.
	{"net/http: can't write control character in Request.URL", invalidInput},
	{"unsupported protocol scheme", invalidInput}, // Transport: neither http nor https
	{"http: no Host in request URL", invalidInput},

	// ReadResponse: the status line.
	{"malformed HTTP response", protocolError}, // no space after the version
	{"malformed HTTP status code", protocolError},
	{"malformed HTTP version", protocolError},
	// readTransfer: the framing fields.
	{"bad Content-Length", protocolError},
	{"http: message cannot contain multiple Content-Length headers", protocolError},
	{"too many transfer encodings", protocolError},   // unsupportedTEError, unexported
	{"unsupported transfer encoding", protocolError}, // unsupportedTEError, unexported
	// The Transport's limits on a response head.
	{"net/http: server response headers exceeded", protocolError},
	{"net/http: too many 1xx informational responses", protocolError},
	// net/http/internal's chunked reader, and the trailer section after the last chunk.
	{"malformed chunked encoding", protocolError},
	{"invalid byte in chunk length", protocolError},
	{"http chunk length too large", protocolError},
	{"http: suspiciously long trailer after chunked body", protocolError},
	{"bad trailer key", protocolError},
	{"http: unexpected EOF reading trailer", incompleteMessage},
	// http.Client's redirects (agent sessions only: a wire session follows none). The default
	// CheckRedirect stops after 10 of them; a Location net/url cannot parse is not followed.
	{"stopped after 10 redirects", redirectRefused},
	{"failed to parse Location header", redirectRefused},
	// The server closed a reused connection before any byte of the response (net/http retries
	// an idempotent request once on a new connection; this is what is left when it does not).
	{"http: server closed idle connection", connectionClosed},
}

// validationErrors are the types of the refusals above, and *url.Error: http.NewRequest's
// refusal of a URL that net/url cannot parse.
func validationErrors() []string {
	types := []string{"*url.Error"}
	for _, row := range untypedChecks {
		if row.kind == invalidInput {
			types = append(types, row.prefix)
		}
	}
	return types
}

// refusal is the error for a request http.NewRequest refused to build.
func refusal(err error) *errorMessage {
	var parseError *url.Error
	if errors.As(err, &parseError) {
		return report(invalidInput, "*url.Error", err)
	}
	return classify(err, &progress{})
}

// classify maps an error of Client.Do, or of reading the response body, to its kind.
func classify(err error, seen *progress) *errorMessage {
	// Client.Do wraps every error in a *url.Error naming the method and URL; the cause is inside.
	var wrapped *url.Error
	cause := err
	if errors.As(err, &wrapped) {
		cause = wrapped.Err
	}
	var netError net.Error
	var recordHeader tls.RecordHeaderError
	switch {
	// Dialling, the TLS handshake, the response head and the client's Timeout all report their
	// deadline as a net.Error whose Timeout() is true.
	case errors.As(cause, &netError) && netError.Timeout():
		return report(timedOut, typeName(cause), err)
	case seen.handshakeFailed.Load() || errors.As(cause, &recordHeader) || isCertificateError(cause) ||
		isAlert(cause):
		return report(tlsFailure, typeName(cause), err)
	}
	// An error met while reading a response head reaches the caller flattened into the text of
	// another: its type is lost, only its text is left to tell it.
	flattened := strings.HasPrefix(cause.Error(), brokenConnection)
	text := strings.TrimPrefix(cause.Error(), brokenConnection)
	for _, row := range untypedChecks {
		if strings.HasPrefix(text, row.prefix) {
			return report(row.kind, row.prefix, err)
		}
	}
	if flattened {
		return flattenedKind(text, seen, err)
	}
	return report(typedKind(cause, seen), typeName(cause), err)
}

// typedKind tells the kind of a typed error, or of one of io's sentinel errors.
func typedKind(cause error, seen *progress) string {
	var protocol textproto.ProtocolError
	switch {
	case errors.As(cause, &protocol), errors.Is(cause, http.ErrLineTooLong):
		return protocolError
	// ReadResponse turns an end of input inside the head into io.ErrUnexpectedEOF, and so do the
	// body readers inside a Content-Length or chunked body.
	case errors.Is(cause, io.ErrUnexpectedEOF):
		return incompleteMessage
	case errors.Is(cause, io.EOF), isConnectionEnd(cause):
		return connectionEnd(seen)
	}
	return unclassified
}

// brokenConnection starts the error the Transport returns for any error while it reads a response
// head: fmt.Errorf("net/http: HTTP/1.x transport connection broken: %v", err).
const brokenConnection = "net/http: HTTP/1.x transport connection broken: "

// flattenedKind tells the kind of a typed error from the text it left after brokenConnection.
func flattenedKind(text string, seen *progress, err error) *errorMessage {
	switch {
	case text == io.ErrUnexpectedEOF.Error():
		return report(incompleteMessage, "io.ErrUnexpectedEOF", err)
	case text == io.EOF.Error():
		return report(connectionEnd(seen), "io.EOF", err)
	// Every textproto.ProtocolError of ReadMIMEHeader starts so.
	case strings.HasPrefix(text, "malformed MIME header"):
		return report(protocolError, "textproto.ProtocolError", err)
	}
	// A *net.OpError's text ends with its errno's: "read tcp ...: connection reset by peer".
	for _, errno := range connectionEnds {
		if strings.HasSuffix(text, errno.Error()) {
			return report(connectionEnd(seen), "syscall.Errno", err)
		}
	}
	return report(unclassified, "*errors.errorString", err)
}

// connectionEnd is the kind of a connection that ended (closed, reset): before a response, or in one.
func connectionEnd(seen *progress) string {
	if seen.responseStarted.Load() {
		return incompleteMessage
	}
	return connectionClosed
}

// isCertificateError: the certificate checks of crypto/x509, which crypto/tls returns as they are
// (Go 1.20 and later wrap them in a tls.CertificateVerificationError, which unwraps to them).
func isCertificateError(err error) bool {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var noRoots x509.SystemRootsError
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &noRoots)
}

// isAlert: crypto/tls reports a TLS alert as a *net.OpError whose Op is "remote error" (the peer
// sent it) or "local error" (it was sent to the peer); the alert itself has an unexported type. In
// TLS 1.3 the server checks the client's certificate after the client's handshake is done, so its
// alert arrives with the response instead of ending the handshake.
func isAlert(err error) bool {
	var opError *net.OpError
	return errors.As(err, &opError) && (opError.Op == "remote error" || opError.Op == "local error")
}

// connectionEnds: the peer reset or refused the connection, or closed it under a write.
var connectionEnds = []syscall.Errno{syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE}

func isConnectionEnd(err error) bool {
	for _, errno := range connectionEnds {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// typeName is the Go type of the innermost error of the chain.
func typeName(err error) string {
	for next := errors.Unwrap(err); next != nil; next = errors.Unwrap(err) {
		err = next
	}
	return fmt.Sprintf("%T", err)
}

// report keeps the client's whole message. It is text a server's bytes may be quoted in: bytes
// that are not UTF-8 become U+FFFD, which encoding/json would do anyway, here made explicit.
func report(kind, typeName string, err error) *errorMessage {
	return &errorMessage{Kind: kind, Type: typeName, Message: strings.ToValidUTF8(err.Error(), "\uFFFD")}
}
