#!/usr/bin/perl
# h1conform driver (protocol 1, docs/driver-protocol.md) for Perl's HTTP::Tiny.
#
# Reads one JSON command per line on standard input and writes one JSON answer per line on
# standard output. One HTTP::Tiny object per session: its keep-alive handle is what lets the
# requests of a session share a connection. Perl 5 core modules only.
use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);

# Protocol strings carry one byte per character; JSON::PP's ascii mode writes every character
# above U+007F as \u00XX, so the bytes HTTP::Tiny hands back arrive as the protocol wants them.
my $JSON = JSON::PP->new->utf8->ascii->canonical;

# HTTP::Tiny does HTTPS only with IO::Socket::SSL (and Net::SSLeay) installed.
my $HAS_TLS = HTTP::Tiny->can_ssl;

# HTTP::Tiny reports every failure as a response of status 599 whose content is the error's
# text: it exposes no error codes or classes. The kind is read from the message, by the fixed
# start of each message HTTP::Tiny 0.080 writes; that start is also the error's `type`.
my @KIND_BY_MESSAGE = (
    # Its own checks of the request, made before a byte is written (the connection may be open).
    ['Invalid HTTP header field name',     'invalid-input'],
    ['Invalid HTTP header field value',    'invalid-input'],
    ['Invalid characters in Method',       'invalid-input'],
    ['Invalid characters in Request-URI',  'invalid-input'],
    ['Unsupported URL scheme',             'invalid-input'],
    ['Cannot parse URL',                   'invalid-input'],
    ['Timed out while waiting for socket', 'timeout'],
    ['SSL connection failed',              'tls-failure'],
    ['Could not read from SSL socket',     'tls-failure'],
    ['Could not write to SSL socket',      'tls-failure'],
    ['Malformed Status-Line',              'protocol-error'],
    ['Unsupported HTTP protocol',          'protocol-error'],
    ['Malformed header line',              'protocol-error'],
    ['Unexpected header continuation line', 'protocol-error'],
    ['Header lines exceeds maximum number', 'protocol-error'],
    ['Line size exceeds the maximum allowed size', 'protocol-error'],
    ['Malformed chunk head',               'protocol-error'],
    ['Malformed chunk: missing CRLF',      'protocol-error'],
    ['Socket closed by remote server',     'connection-closed'],
    ['Could not write to socket',          'connection-closed'],
    # The same text whether or not a response had begun: see `resolved_kind`.
    ['Unexpected end of stream while looking for line', 'ended'],
    ['Could not read from socket',         'ended'],
    ['Unexpected end of stream',           'incomplete-message'],  # inside a body of known length
    ['Could not connect to',               'connect'],
);
my @VALIDATION_ERRORS = map { $_->[0] } grep { $_->[1] eq 'invalid-input' } @KIND_BY_MESSAGE;

my @FEATURES = ('custom-methods', 'duplicate-headers', 'reason-phrase', 'response-version',
                'persistent-connections', 'forward-proxy',
                $HAS_TLS ? ('tls', 'client-certificate', 'connect-tunnel') : ());

# Whether a response had begun (a byte of it received) when HTTP::Tiny failed: its messages for
# a connection that ends do not say, the wire kinds do (connection-closed before any response,
# incomplete-message after). Set by `request_noting_bytes`, for the whole request: when
# HTTP::Tiny retries after a response cut short, the message is the retry's, the cut the first's.
my $response_began;

sub main {
    binmode STDIN;
    binmode STDOUT;
    STDOUT->autoflush(1);
    # A peer that closes during a TLS handshake would otherwise kill the driver with SIGPIPE
    # (HTTP::Tiny ignores it only around its own reads and writes): the write fails with EPIPE.
    $SIG{PIPE} = 'IGNORE';
    # HTTP::Tiny reads proxies from these unless told otherwise, and a CA file from SSL_CERT_FILE.
    delete @ENV{qw(all_proxy ALL_PROXY http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy
                   SSL_CERT_FILE SSL_CERT_DIR)};
    answer({type => 'hello', protocol => 1, name => 'perl-http-tiny', client => 'Perl HTTP::Tiny',
            version => client_version(), features => \@FEATURES,
            validation_errors => \@VALIDATION_ERRORS});
    my %sessions;
    while (my $line = <STDIN>) {
        my $command = decode_command($line);
        answer({id => 0 + $command->{id}, %{handle($command, \%sessions)}});
    }
    return 0;
}

# JSON::PP, written in Perl, takes seconds for a body of megabytes: that time would count against
# the client. Base64 has no character JSON escapes, so the body is cut out of the line as it is
# and decoded apart (MIME::Base64 is fast); `"body":` outside a string can only be the body's key,
# since a quote inside a JSON string is always escaped.
sub decode_command {
    my ($line) = @_;
    my $body = $line =~ s/"body":\s*"([A-Za-z0-9+\/=]*)"/"body":null/ ? $1 : undef;
    my $command = $JSON->decode($line);
    $command->{body} = $body if defined $body;
    return $command;
}

sub client_version {
    my $version = "HTTP::Tiny $HTTP::Tiny::VERSION, perl " . sprintf('%vd', $^V);
    $version .= ", IO::Socket::SSL $IO::Socket::SSL::VERSION" if $HAS_TLS;
    return $version;
}

# A body goes into the line after JSON::PP's encoding, for the same reason (see `decode_command`).
sub answer {
    my ($message) = @_;
    my $response = $message->{response};
    my $body = $response ? delete $response->{body} : undef;
    $response->{body} = '' if $response;
    my $line = $JSON->encode($message);
    $line =~ s/"body":""/"body":"$body"/ if $response;
    print $line, "\n";
}

sub handle {
    my ($command, $sessions) = @_;
    my $op = $command->{op};
    if ($op eq 'open') {
        my $client = open_session($command);
        return $client unless ref $client eq 'HTTP::Tiny';
        $sessions->{$command->{session}} = $client;
        return {ok => JSON::PP::true};
    }
    if ($op eq 'close') {
        # Dropping the object closes its kept-alive connection (the handle's socket is freed).
        delete $sessions->{$command->{session}};
        return {ok => JSON::PP::true};
    }
    if ($op eq 'request') {
        my $client = $sessions->{$command->{session}}
            or die "request in a session that is not open: $command->{session}\n";
        return send_request($client, $command);
    }
    die "unknown op: $op\n";
}

# An HTTP::Tiny for the session, or an `unsupported` answer.
sub open_session {
    my ($command) = @_;
    my $tls = $command->{tls};
    my $proxy = $command->{proxy};
    return {unsupported => 'IO::Socket::SSL is not installed: HTTP::Tiny cannot do TLS'}
        if ($tls || ($proxy && $proxy =~ /^https:/i)) && !$HAS_TLS;
    my %options = (
        timeout      => $command->{timeout},  # each connect, read or write wait
        keep_alive   => 1,
        max_redirect => 0,
        # Explicit values (undef: none) so that HTTP::Tiny reads no proxy from the environment.
        proxy => undef, http_proxy => $proxy, https_proxy => $proxy, no_proxy => [],
    );
    if ($tls) {
        my %ssl;
        $ssl{SSL_ca_file} = $tls->{ca_file} if defined $tls->{ca_file};
        if (defined $tls->{client_cert}) {
            $ssl{SSL_cert_file} = $tls->{client_cert};
            $ssl{SSL_key_file} = $tls->{client_cert};
        }
        # verify_SSL checks the chain and the name; IO::Socket::SSL's scheme 'none' drops the name.
        $ssl{SSL_verifycn_scheme} = 'none' unless $tls->{check_hostname};
        %options = (%options, verify_SSL => 1, SSL_options => \%ssl);
    }
    return HTTP::Tiny->new(%options);
}

sub send_request {
    my ($client, $command) = @_;
    my ($method, $url) = (bytes_of($command->{method}), bytes_of($command->{url}));
    # HTTP::Tiny takes headers as a hash whose names it compares without case: a name given
    # twice becomes one key (spelled as first given) with the list of its values.
    my (%values, %spelling);
    for my $pair (@{$command->{headers}}) {
        my ($name, $value) = map { bytes_of($_) } @$pair;
        return {unsupported => 'HTTP::Tiny sets Host itself and refuses it as a header option'}
            if lc $name eq 'host';
        $spelling{lc $name} //= $name;
        push @{$values{lc $name}}, $value;
    }
    my %headers = map { $spelling{$_} => (@{$values{$_}} == 1 ? $values{$_}[0] : $values{$_}) } keys %values;
    my %options = (headers => \%headers);
    $options{content} = decode_base64($command->{body}) if defined $command->{body};

    my $response = request_noting_bytes($client, $method, $url, \%options);
    # A failure is a response of status 599 that no server sent: it has no protocol version.
    return {error => error_of($response->{content})} if $response->{status} eq '599' && !$response->{protocol};
    return {response => response_of($response)};
}

# A protocol string as the bytes it stands for (each character is one byte, U+0000 to U+00FF).
sub bytes_of {
    my ($text) = @_;
    utf8::downgrade($text);  # dies on a character above U+00FF, which the protocol never sends
    return $text;
}

sub request_noting_bytes {
    my ($client, $method, $url, $options) = @_;
    my $readline = \&HTTP::Tiny::Handle::readline;
    my $https = $url =~ /^https:/i;
    no warnings 'redefine';
    # Every line of a response head (and every chunk head) goes through readline; it only adds a
    # note of whether a byte came, and leaves what HTTP::Tiny does unchanged. Through a tunnel,
    # the proxy's answer to CONNECT (read before TLS starts) is not the response.
    local *HTTP::Tiny::Handle::readline = sub {
        my ($handle) = @_;
        my $line = eval { $readline->(@_) };
        my $error = $@;
        if (!$https || $handle->{fh}->isa('IO::Socket::SSL')) {
            $response_began ||= defined $line || length $handle->{rbuf};
        }
        die $error unless defined $line;
        return $line;
    };
    $response_began = 0;
    return $client->request($method, $url, $options);
}

sub response_of {
    my ($response) = @_;
    my @headers;
    # HTTP::Tiny keeps response fields in a hash of lower-cased names (a repeated name: a list
    # of its values): the order of names is lost, so they are listed sorted.
    for my $name (sort keys %{$response->{headers}}) {
        my $values = $response->{headers}{$name};
        # "$_": a value HTTP::Tiny used as a number (Content-Length) must still go out as a string.
        push @headers, [$name, "$_"] for ref $values ? @$values : $values;
    }
    return {status => 0 + $response->{status}, reason => $response->{reason},
            version => $response->{protocol}, headers => \@headers,
            body => encode_base64($response->{content} // '', '')};
}

sub error_of {
    my ($message) = @_;
    chomp(my $text = $message);
    for my $row (@KIND_BY_MESSAGE) {
        my ($start, $kind) = @$row;
        next unless index($text, $start) == 0;
        return {kind => resolved_kind($kind, $text), type => $start, message => $text};
    }
    return {kind => 'unclassified', type => 'HTTP::Tiny 599', message => $text};
}

sub resolved_kind {
    my ($kind, $text) = @_;
    return $response_began ? 'incomplete-message' : 'connection-closed' if $kind eq 'ended';
    # The socket's own connect timeout is HTTP::Tiny's timeout too.
    return $text =~ /timed out/i ? 'timeout' : 'connection-closed' if $kind eq 'connect';
    return $kind;
}

exit main();
