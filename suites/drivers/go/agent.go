package main

import (
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"time"
)

// The agent mode (docs/driver-protocol.md, "Agent mode"): http.Client as an application uses it.

// agentFeatures is what http.Client does by itself as a user agent:
//   - follows-redirects: its default CheckRedirect follows up to 10 redirects;
//   - decodes-gzip: the Transport asks for gzip (Accept-Encoding: gzip) on a request that names no
//     coding and decodes a response whose Content-Encoding is exactly "gzip"; no other coding;
//   - cookie-jar: an opt-in (Client.Jar is nil by default); the agent session sets cookiejar.New(nil);
//   - retries: the Transport repeats a request once on a new connection when a reused connection
//     fails before any byte of the response, if the request is idempotent (or nothing was written).
var agentFeatures = []string{"follows-redirects", "decodes-gzip", "cookie-jar", "retries"}

// agentClient is the session's client with net/http's defaults for redirects (CheckRedirect nil:
// at most 10), decoding (the Transport's DisableCompression stays false) and retries, plus the
// cookie jar a user of net/http switches on. cookiejar.New(nil) has no public suffix list: it
// accepts a Domain attribute naming any parent domain, a public suffix included (its documented
// default).
func agentClient(transport *http.Transport, timeout time.Duration) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		fatal("cookiejar.New: %v", err)
	}
	return &http.Client{Transport: transport, Jar: jar, Timeout: timeout}
}

// Error kinds of the agent profile.
const (
	redirectRefused = "redirect-refused"
	decodingError   = "decoding-error"
)

// classifyAgent maps an error of an agent session to its kind. decoded: the error came from a body
// the Transport was decoding (Response.Uncompressed).
func classifyAgent(err error, seen *progress, decoded bool) *errorMessage {
	if decoded {
		if name := gzipFailure(err); name != "" {
			return report(decodingError, name, err)
		}
	}
	found := classify(err, seen)
	// After a redirect, the next request is built from the Location: a refusal to send it (a
	// scheme other than http and https, no host), or to dial its address (a *net.AddrError: a
	// port out of range, a malformed host:port), is the client declining to follow.
	var address *net.AddrError
	if seen.responses.Load() > 0 && (found.Kind == invalidInput || errors.As(err, &address)) {
		found.Kind = redirectRefused
	}
	return found
}

// gzipFailure names the error compress/gzip or compress/flate gave while the Transport decoded a
// body, or "" for another error. A gzip stream cut short ends in io.ErrUnexpectedEOF, as does a
// body whose connection ended before its Content-Length: both reach the application as the same
// error, so both are reported as a failed decoding.
func gzipFailure(err error) string {
	var corrupt flate.CorruptInputError
	var internal flate.InternalError
	switch {
	case errors.Is(err, gzip.ErrHeader):
		return "gzip.ErrHeader"
	case errors.Is(err, gzip.ErrChecksum):
		return "gzip.ErrChecksum"
	case errors.As(err, &corrupt):
		return "flate.CorruptInputError"
	case errors.As(err, &internal):
		return "flate.InternalError"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "io.ErrUnexpectedEOF"
	}
	return ""
}

// headKept is how much of a streamed body the answer quotes (agent.HEAD_KEPT in the suite).
const headKept = 65536

// readStreamed reads the (decoded) body through Body.Read in pieces of at most ChunkSize bytes, into
// one reused buffer, until Limit bytes or the end: only the first headKept bytes are kept.
func readStreamed(body io.Reader, settings streamSettings) (*streamedMessage, error) {
	if settings.ChunkSize <= 0 || settings.Limit < 0 {
		fatal("a stream request with chunk_size %d and limit %d", settings.ChunkSize, settings.Limit)
	}
	piece := make([]byte, settings.ChunkSize)
	head := make([]byte, 0, headKept)
	streamed := &streamedMessage{}
	for streamed.Received < settings.Limit {
		n, err := body.Read(piece)
		if n > 0 {
			streamed.Received += int64(n)
			streamed.Pieces++
			head = append(head, piece[:min(n, headKept-len(head))]...)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	streamed.Head = base64.StdEncoding.EncodeToString(head)
	return streamed, nil
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}
