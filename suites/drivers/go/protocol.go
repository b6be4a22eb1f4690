package main

import (
	"fmt"
	"strings"
)

// The messages of the h1conform driver protocol, version 1 (docs/driver-protocol.md).

// command is any line the suite sends: open, request or close. Fields an op does not use stay empty.
type command struct {
	ID      int64           `json:"id"`
	Op      string          `json:"op"`
	Session string          `json:"session"`
	Timeout float64         `json:"timeout"`
	TLS     *tlsSettings    `json:"tls"`
	Proxy   *string         `json:"proxy"`
	Agent   bool            `json:"agent"` // open: an agent session (the client's own redirects, decoding, cookies)
	Method  string          `json:"method"`
	URL     string          `json:"url"`
	Headers [][]string      `json:"headers"`
	Body    *string         `json:"body"`   // base64, or null for no body
	Stream  *streamSettings `json:"stream"` // request in an agent session: read the body through Body.Read
}

// streamSettings: read the body in pieces of at most ChunkSize bytes, until Limit decoded bytes or its end.
type streamSettings struct {
	ChunkSize int   `json:"chunk_size"`
	Limit     int64 `json:"limit"`
}

type tlsSettings struct {
	CAFile        *string `json:"ca_file"`
	ClientCert    *string `json:"client_cert"`
	CheckHostname bool    `json:"check_hostname"`
}

type hello struct {
	Type             string   `json:"type"`
	Protocol         int      `json:"protocol"`
	Name             string   `json:"name"`
	Client           string   `json:"client"`
	Version          string   `json:"version"`
	Features         []string `json:"features"`
	ValidationErrors []string `json:"validation_errors"`
	AgentFeatures    []string `json:"agent_features"`
}

// answer is one reply to a command; exactly one of its optional fields is set.
type answer struct {
	ID          int64            `json:"id"`
	OK          bool             `json:"ok,omitempty"`
	Unsupported string           `json:"unsupported,omitempty"`
	Response    *responseMessage `json:"response,omitempty"`
	Error       *errorMessage    `json:"error,omitempty"`
	Streamed    *streamedMessage `json:"streamed,omitempty"`
}

type responseMessage struct {
	Status  int         `json:"status"`
	Reason  string      `json:"reason"`
	Version string      `json:"version"`
	Headers [][2]string `json:"headers"`
	Body    string      `json:"body"`          // base64
	URL     string      `json:"url,omitempty"` // agent sessions: the URL the response came from, after redirects
}

// streamedMessage is what reading a body through the client's streaming API gave.
type streamedMessage struct {
	Received int64  `json:"received"` // decoded bytes read
	Pieces   int    `json:"pieces"`   // reads that returned bytes
	Head     string `json:"head"`     // base64 of the first headKept decoded bytes
}

type errorMessage struct {
	Kind    string `json:"kind"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

// The protocol carries HTTP's bytes in JSON strings as one character U+0000..U+00FF per byte
// (ISO-8859-1); Go strings hold the bytes themselves, and encoding/json reads and writes UTF-8.

// octets turns a protocol string into the bytes it stands for.
func octets(text string) (string, error) {
	var bytes strings.Builder
	for _, char := range text {
		if char > 0xFF {
			return "", fmt.Errorf("character %U is not a byte (protocol strings are ISO-8859-1)", char)
		}
		bytes.WriteByte(byte(char))
	}
	return bytes.String(), nil
}

// latin1 turns bytes into a protocol string: each byte becomes the character of the same number.
func latin1(bytes string) string {
	chars := make([]rune, len(bytes))
	for i := 0; i < len(bytes); i++ {
		chars[i] = rune(bytes[i])
	}
	return string(chars)
}
