// Command driver lets the h1conform suite run its wire scenarios against Go's net/http client.
//
// It speaks the driver protocol, version 1 (docs/driver-protocol.md): a hello line, then one
// answer per command read from standard input, as JSON lines. Only the standard library is used.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

var features = []string{
	"custom-methods", "duplicate-headers", "reason-phrase", "response-version", "tls",
	"client-certificate", "forward-proxy", "connect-tunnel", "persistent-connections",
}

func main() {
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	send(out, hello{
		Type: "hello", Protocol: 1, Name: "go-net-http", Client: "Go net/http",
		Version: runtime.Version(), Features: features, ValidationErrors: validationErrors(),
		AgentFeatures: agentFeatures,
	})
	sessions := map[string]*session{}
	in := bufio.NewReader(os.Stdin)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			send(out, handle(sessions, decode(line)))
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			fatal("reading standard input: %v", err)
		}
	}
}

func decode(line []byte) command {
	var cmd command
	if err := json.Unmarshal(line, &cmd); err != nil {
		fatal("a line that is not a command: %v", err)
	}
	for _, pair := range cmd.Headers {
		if len(pair) != 2 {
			fatal("a header pair of %d strings", len(pair))
		}
	}
	return cmd
}

func handle(sessions map[string]*session, cmd command) answer {
	switch cmd.Op {
	case "open":
		if sessions[cmd.Session] != nil {
			fatal("session %q opened twice", cmd.Session)
		}
		sessions[cmd.Session] = openSession(cmd)
		return answer{ID: cmd.ID, OK: true}
	case "request":
		return exchange(lookup(sessions, cmd.Session), cmd)
	case "close":
		lookup(sessions, cmd.Session).close()
		delete(sessions, cmd.Session)
		return answer{ID: cmd.ID, OK: true}
	}
	fatal("unknown op %q", cmd.Op)
	return answer{}
}

func lookup(sessions map[string]*session, name string) *session {
	found := sessions[name]
	if found == nil {
		fatal("no open session %q", name)
	}
	return found
}

func send(out *json.Encoder, message any) {
	if err := out.Encode(message); err != nil {
		fatal("writing standard output: %v", err)
	}
}

// fatal ends the driver for a command it cannot have been sent (a broken suite, not a client's
// failure): the suite reports the scenario as an error, with this line from standard error.
func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go-net-http driver: "+format+"\n", args...)
	os.Exit(2)
}
