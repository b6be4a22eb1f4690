package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptrace"
	"sort"
	"strings"
	"sync/atomic"
)

// progress is what the client's trace hooks saw of one request (and of the requests a redirect led
// to, which share its context): they run on the Transport's goroutines, and may still run after
// Client.Do has returned.
type progress struct {
	handshakeFailed atomic.Bool  // a TLS handshake ended with an error
	responseStarted atomic.Bool  // a byte of the response to the current attempt arrived
	responses       atomic.Int32 // responses whose first byte arrived, redirects included
}

func (seen *progress) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		// Each attempt (the first, a retry, a redirect's request) starts by getting a connection.
		GetConn: func(string) { seen.responseStarted.Store(false) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err != nil {
				seen.handshakeFailed.Store(true)
			}
		},
		GotFirstResponseByte: func() {
			seen.responseStarted.Store(true)
			seen.responses.Add(1)
		},
	}
}

// exchange performs one request command in its session and reads the whole response, or, for a
// stream request, reads it through Body.Read and answers with the figures.
func exchange(s *session, cmd command) answer {
	if cmd.Stream != nil && !s.agent {
		fatal("a stream request in session %q, which is not an agent session", cmd.Session)
	}
	if why := inexpressible(cmd.Headers); why != "" {
		return answer{ID: cmd.ID, Unsupported: why}
	}
	seen := &progress{}
	request, refused := newRequest(cmd, seen)
	if refused != nil {
		return answer{ID: cmd.ID, Error: refused}
	}
	response, err := s.client.Do(request)
	if err != nil {
		return answer{ID: cmd.ID, Error: s.classify(err, seen, false)}
	}
	defer response.Body.Close()
	if cmd.Stream != nil {
		streamed, err := readStreamed(response.Body, *cmd.Stream)
		if err != nil {
			return answer{ID: cmd.ID, Error: s.classify(err, seen, response.Uncompressed)}
		}
		return answer{ID: cmd.ID, Streamed: streamed}
	}
	body, err := readBody(response)
	if err != nil {
		// The head arrived: an error now is an error of the request, not a response.
		return answer{ID: cmd.ID, Error: s.classify(err, seen, response.Uncompressed)}
	}
	message := describe(response, body)
	if s.agent {
		message.URL = latin1(response.Request.URL.String())
	}
	return answer{ID: cmd.ID, Response: message}
}

// classify maps an error to its kind: an agent session's may be a refused redirect or a failed
// decoding (decoded: the Transport was decoding the body the error came from).
func (s *session) classify(err error, seen *progress, decoded bool) *errorMessage {
	if s.agent {
		return classifyAgent(err, seen, decoded)
	}
	return classify(err, seen)
}

// readBody reads the response's content to its end. A 101 has none (a 1xx response ends with its
// head): when it switches protocols, net/http hands over the connection itself as Body, for the
// new protocol, which is closed unread.
func readBody(response *http.Response) ([]byte, error) {
	if response.StatusCode == http.StatusSwitchingProtocols {
		return []byte{}, nil
	}
	return io.ReadAll(response.Body)
}

// inexpressible says why net/http cannot send these header pairs exactly, or "" if it can.
func inexpressible(pairs [][]string) string {
	count := map[string]int{}
	for _, pair := range pairs {
		name := http.CanonicalHeaderKey(pair[0])
		count[name]++
		switch {
		case name == "Content-Length" || name == "Transfer-Encoding" || name == "Trailer":
			return "net/http frames the body itself (Request.ContentLength, TransferEncoding, Trailer): " +
				"it does not send a " + name + " field given in Request.Header"
		case (name == "Host" || name == "User-Agent") && count[name] > 1:
			return "net/http sends one " + name + " field (Request.Host, or the first User-Agent value): " +
				"it cannot send that name twice"
		}
	}
	return ""
}

// newRequest builds the command's request: its error is the client's refusal to build it.
func newRequest(cmd command, seen *progress) (*http.Request, *errorMessage) {
	method := mustOctets(cmd.Method)
	target := mustOctets(cmd.URL)
	var body io.Reader
	if cmd.Body != nil {
		content, err := base64.StdEncoding.DecodeString(*cmd.Body)
		if err != nil {
			fatal("a request body that is not base64: %v", err)
		}
		// A *bytes.Reader lets NewRequest set ContentLength, and GetBody for a retry.
		body = bytes.NewReader(content)
	}
	ctx := httptrace.WithClientTrace(context.Background(), seen.trace())
	request, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, refusal(err)
	}
	for _, pair := range cmd.Headers {
		name, value := mustOctets(pair[0]), mustOctets(pair[1])
		if strings.EqualFold(name, "Host") {
			// net/http sends Request.Host and ignores a Host entry of Request.Header.
			request.Host = value
			continue
		}
		request.Header.Add(name, value)
	}
	return request, nil
}

func mustOctets(text string) string {
	bytes, err := octets(text)
	if err != nil {
		fatal("%v: %q", err, text)
	}
	return bytes
}

// describe is the response message: Response.Status is "200 OK", the code then the reason.
func describe(response *http.Response, body []byte) *responseMessage {
	_, reason, _ := strings.Cut(response.Status, " ")
	return &responseMessage{
		Status:  response.StatusCode,
		Reason:  latin1(reason),
		Version: latin1(response.Proto),
		Headers: headerPairs(response),
		Body:    base64.StdEncoding.EncodeToString(body),
	}
}

// headerPairs lists the response's fields. net/http keeps them in a map under canonical names, so
// their order is lost: they are listed sorted by name, each name's values in the order received.
// It also moves Transfer-Encoding out of the map into Response.TransferEncoding ("chunked" is the
// only coding it accepts), where it is taken back from.
func headerPairs(response *http.Response) [][2]string {
	fields := response.Header.Clone()
	if fields == nil {
		fields = http.Header{}
	}
	if len(response.TransferEncoding) > 0 {
		fields["Transfer-Encoding"] = []string{strings.Join(response.TransferEncoding, ", ")}
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	pairs := [][2]string{}
	for _, name := range names {
		for _, value := range fields[name] {
			pairs = append(pairs, [2]string{latin1(name), latin1(value)})
		}
	}
	return pairs
}
