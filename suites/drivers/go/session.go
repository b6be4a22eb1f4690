package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// session is one http.Client with a Transport of its own: requests of a session share its
// connection pool, requests of different sessions never do.
type session struct {
	client    *http.Client
	transport *http.Transport
	agent     bool // an agent session: the client's own redirects, decoding and cookies (agent.go)
}

// openSession builds the session an open command describes: net/http honours every setting. A
// wire session follows no redirect, decodes nothing and keeps no cookie; an agent session is
// http.Client as an application uses it (agentClient).
func openSession(cmd command) *session {
	timeout := time.Duration(cmd.Timeout * float64(time.Second))
	transport := &http.Transport{
		// The proxy is the session's, never one from the environment (not ProxyFromEnvironment).
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: timeout}).DialContext,
		// A wire session: no Accept-Encoding added, so nothing is decoded that the request did
		// not ask for. An agent session keeps the Transport's default, transparent gzip.
		DisableCompression: !cmd.Agent,
		// HTTP/1.1 only: no HTTP/2 upgrade through ALPN.
		ForceAttemptHTTP2: false,
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
		// net/http has no timeout for each read: these bound the phases it knows, and the
		// client's Timeout below bounds the whole exchange, body included.
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		// As http.DefaultTransport: how long a request with "Expect: 100-continue" waits for the
		// interim response before it sends its body anyway.
		ExpectContinueTimeout: time.Second,
	}
	if cmd.Proxy != nil {
		proxy, err := url.Parse(*cmd.Proxy)
		if err != nil {
			fatal("the open command's proxy %q: %v", *cmd.Proxy, err)
		}
		transport.Proxy = http.ProxyURL(proxy)
	}
	if cmd.TLS != nil {
		transport.TLSClientConfig = tlsConfig(*cmd.TLS)
	}
	if cmd.Agent {
		return &session{client: agentClient(transport, timeout), transport: transport, agent: true}
	}
	client := &http.Client{
		Transport: transport,
		// The 3xx response is the outcome: no redirect is followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       timeout,
		// No Jar: no cookies are kept.
	}
	return &session{client: client, transport: transport}
}

func (s *session) close() {
	s.transport.CloseIdleConnections()
}

// tlsConfig trusts only the settings' CA file (the system's roots without one) and presents its
// client certificate; without check_hostname the chain is still verified, only the name is not.
func tlsConfig(settings tlsSettings) *tls.Config {
	config := &tls.Config{}
	if settings.CAFile != nil {
		config.RootCAs = certPool(*settings.CAFile)
	}
	if settings.ClientCert != nil {
		// One PEM file holds the certificate chain and its private key.
		pair, err := tls.LoadX509KeyPair(*settings.ClientCert, *settings.ClientCert)
		if err != nil {
			fatal("the client certificate %q: %v", *settings.ClientCert, err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	if !settings.CheckHostname {
		// crypto/tls checks the chain and the name together; InsecureSkipVerify turns both off,
		// so the chain is checked again here, without a name.
		config.InsecureSkipVerify = true
		config.VerifyPeerCertificate = verifyChain(config.RootCAs)
	}
	return config
}

func certPool(file string) *x509.CertPool {
	pem, err := os.ReadFile(file)
	if err != nil {
		fatal("the CA file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fatal("no certificate in the CA file %q", file)
	}
	return pool
}

// verifyChain verifies the server's chain against roots (the system's if nil) for server
// authentication, as crypto/tls does, but for no host name.
func verifyChain(roots *x509.CertPool) func([][]byte, [][]*x509.Certificate) error {
	return func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		if len(rawCerts) == 0 {
			return errors.New("tls: the server presented no certificate")
		}
		chain := make([]*x509.Certificate, len(rawCerts))
		for i, raw := range rawCerts {
			cert, err := x509.ParseCertificate(raw)
			if err != nil {
				return err
			}
			chain[i] = cert
		}
		intermediates := x509.NewCertPool()
		for _, cert := range chain[1:] {
			intermediates.AddCert(cert)
		}
		_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates})
		return err
	}
}
