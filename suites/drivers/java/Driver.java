import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;

/**
 * The h1conform driver (protocol 1, docs/driver-protocol.md) for the JDK's
 * {@code java.net.http.HttpClient}: reads commands as JSON lines on standard input and answers
 * each on standard output. Only the JDK is used.
 */
public final class Driver {
    private final Map<String, Session> sessions = new HashMap<>();
    private final PrintStream protocolOut;

    private Driver(PrintStream protocolOut) {
        this.protocolOut = protocolOut;
    }

    public static void main(String[] args) throws IOException {
        // Standard output carries protocol messages only: whatever else prints there goes to stderr.
        PrintStream protocolOut = new PrintStream(new FileOutputStream(FileDescriptor.out), false,
                StandardCharsets.US_ASCII);
        System.setOut(System.err);
        Driver driver = new Driver(protocolOut);
        driver.send(hello());
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try {
            for (String line = commands.readLine(); line != null; line = commands.readLine()) {
                driver.send(driver.handle(Command.parse(line)));
            }
        } finally {
            driver.closeAll();
        }
    }

    private static Map<String, Object> hello() {
        Map<String, Object> hello = new LinkedHashMap<>();
        hello.put("type", "hello");
        hello.put("protocol", 1);
        hello.put("name", "java-httpclient");
        hello.put("client", "java.net.http.HttpClient");
        hello.put("version", Runtime.version().toString());
        // No "reason-phrase": HttpResponse has no reason. No "response-version": version() is the
        // protocol the exchange used (HTTP_1_1 for any HTTP/1.x status line, "HTTP/1.0" included),
        // not the version the status line names. No "field-order": HttpHeaders keeps the fields in
        // a map sorted by lower-cased name.
        hello.put("features", List.of("custom-methods", "duplicate-headers", "tls", "client-certificate",
                "forward-proxy", "connect-tunnel", "persistent-connections"));
        hello.put("validation_errors", List.of(Outcomes.VALIDATION_ERROR));
        // As a user agent (agent sessions): it follows redirects and keeps cookies once the builder
        // is told to; it retries a GET or HEAD once when the connection ends before a response. It
        // decodes no content coding: no "decodes-*".
        hello.put("agent_features", List.of("follows-redirects", "cookie-jar", "retries"));
        return hello;
    }

    private Map<String, Object> handle(Command command) {
        switch (command.op()) {
            case "open": return open(command);
            case "request": return request(command);
            case "close": return close(command);
            default: throw new IllegalArgumentException("unknown op \"" + command.op() + "\"");
        }
    }

    private Map<String, Object> open(Command command) {
        String name = command.string("session");
        if (sessions.containsKey(name)) {
            throw new IllegalArgumentException("session \"" + name + "\" is already open");
        }
        Session session;
        try {
            session = Session.open(command.seconds("timeout"), command.tls(), command.optionalString("proxy"),
                    command.flag("agent"));
        } catch (Session.CannotHonour why) {
            return Outcomes.unsupported(command.id(), why.getMessage());
        }
        sessions.put(name, session);
        return Outcomes.ok(command.id());
    }

    private Map<String, Object> request(Command command) {
        Session session = session(command);
        Streaming.Settings stream = command.stream();
        if (stream != null && !session.agent()) {
            throw new IllegalArgumentException("a stream request in session \"" + command.string("session")
                    + "\", which is not an agent session");
        }
        HttpRequest request;
        try {
            request = session.build(command.string("method"), command.string("url"), command.headers(),
                    command.body());
        } catch (IllegalArgumentException refused) {
            return Outcomes.refused(command.id(), refused);
        } catch (Session.CannotHonour why) {
            return Outcomes.unsupported(command.id(), why.getMessage());
        }
        try {
            if (stream != null) {
                HttpResponse<InputStream> response = session.stream(request);
                return Outcomes.streamed(command.id(), Streaming.read(response.body(), stream));
            }
            return Outcomes.response(command.id(), session.send(request), session.agent());
        } catch (CompletionException failed) {
            return Outcomes.failure(command.id(), failed, session.responseArrived());
        } catch (IOException readFailed) {
            return Outcomes.failure(command.id(), Streaming.failureOf(readFailed), session.responseArrived());
        }
    }

    private Map<String, Object> close(Command command) {
        session(command).close();
        sessions.remove(command.string("session"));
        return Outcomes.ok(command.id());
    }

    private Session session(Command command) {
        Session session = sessions.get(command.string("session"));
        if (session == null) {
            throw new IllegalArgumentException("no open session \"" + command.string("session") + "\"");
        }
        return session;
    }

    private void closeAll() {
        sessions.values().forEach(Session::close);
        sessions.clear();
    }

    private void send(Map<String, Object> message) {
        protocolOut.print(Json.write(message));
        protocolOut.print('\n');
        protocolOut.flush();
    }
}
