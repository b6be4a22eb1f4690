import java.io.IOException;
import java.net.ConnectException;
import java.net.ProtocolException;
import java.net.http.HttpTimeoutException;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLException;

/**
 * The protocol's error kind for each failure of java.net.http.HttpClient (JDK 17).
 *
 * The client has exception types for timeouts, TLS, refused connections and a malformed status
 * line or header field. Everything else is a plain IOException whose message is the only thing
 * that tells the cases apart: the strings below are the JDK's own, each with where it comes from.
 */
final class ErrorKinds {
    static final String PROTOCOL = "protocol-error";
    static final String INCOMPLETE = "incomplete-message";
    static final String CLOSED = "connection-closed";
    static final String TIMEOUT = "timeout";
    static final String TLS = "tls-failure";
    static final String INVALID_INPUT = "invalid-input";
    static final String UNCLASSIFIED = "unclassified";
    static final String REDIRECT = "redirect-refused";

    // The class that follows redirects (agent sessions: a wire session's Redirect.NEVER returns
    // every 3xx before it looks at one). It reads the Location with URI.create and lets its
    // IllegalArgumentException out for a reference java.net.URI cannot parse, and a 3xx without a
    // Location fails with UncheckedIOException(IOException("Invalid redirection")): neither has a
    // type of its own, both are told by being thrown there.
    private static final String REDIRECT_FILTER = "jdk.internal.net.http.RedirectFilter";
    private static final String SOCKET_ADDRESS = "java.net.InetSocketAddress";

    // Http1HeaderParser: the connection ended (or was reset) before one byte of a response head.
    private static final String NO_RESPONSE = "HTTP/1.1 header parser received no bytes";
    // When a read ends early, the JDK reports the state its parser was in, with the EOFException or
    // SocketException as the cause: Http1HeaderParser for the head, ResponseContent for the body.
    private static final List<String> ENDED_WHILE_READING = List.of(
            "parsing HTTP/1.1 status line, receiving [",
            "parsing HTTP/1.1 header, receiving [",
            "fixed content-length: ",
            "chunked transfer encoding, state: ");
    // ResponseContent's chunked parser, and MultiExchange's check that a 204 has no body.
    private static final List<String> FRAMING_ERRORS = List.of(
            "invalid chunk header",
            "Illegal character in chunk size: ",
            "Chunk header size too long: ",
            "unexpected content length header with 204 response");
    // The builder's refusals of what the client never lets a caller send, whatever its value:
    // headers it sets itself (Connection, Content-Length, Expect, Host, Upgrade) and CONNECT.
    private static final List<String> RESTRICTIONS = List.of(
            "restricted header name: ",
            "method CONNECT is not supported");

    private ErrorKinds() {
    }

    /** The client's own exception inside the future's wrappers. */
    static Throwable unwrap(Throwable thrown) {
        Throwable cause = thrown;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /**
     * The kind of a failure. afterResponse: a response of the exchange had arrived, so a request
     * that failed before it was sent was built from a redirect's Location. The JDK checks a
     * redirect's address only when it connects: InetSocketAddress refuses one it cannot use (a port
     * out of range, no host) with an IllegalArgumentException, the client declining to follow.
     */
    static String of(Throwable failure, boolean afterResponse) {
        if (thrownIn(failure, REDIRECT_FILTER)
                || (afterResponse && failure instanceof IllegalArgumentException && thrownIn(failure, SOCKET_ADDRESS))) {
            return REDIRECT;
        }
        if (failure instanceof HttpTimeoutException) {
            return TIMEOUT; // HttpConnectTimeoutException included
        }
        if (causedBy(failure, SSLException.class)) {
            return TLS; // handshake and certificate failures, whichever exception carries them
        }
        if (failure instanceof ConnectException) {
            return CLOSED; // the connection was refused
        }
        if (failure instanceof ProtocolException) {
            return PROTOCOL; // Http1HeaderParser: a malformed status line or header field
        }
        if (failure instanceof NumberFormatException) {
            // The JDK reads Content-Length with Long.parseLong and lets a malformed value's
            // NumberFormatException out: that is its rejection of the response's framing.
            return PROTOCOL;
        }
        if (!(failure instanceof IOException)) {
            return UNCLASSIFIED;
        }
        String message = String.valueOf(failure.getMessage());
        if (message.equals(NO_RESPONSE)) {
            return CLOSED;
        }
        if (startsWithAny(message, ENDED_WHILE_READING)) {
            return INCOMPLETE;
        }
        if (startsWithAny(message, FRAMING_ERRORS)) {
            return PROTOCOL;
        }
        return UNCLASSIFIED;
    }

    /** True if the builder refused by design, not for the value given: the request cannot be expressed. */
    static boolean isRestriction(IllegalArgumentException refusal) {
        return startsWithAny(String.valueOf(refusal.getMessage()), RESTRICTIONS);
    }

    /** The exception's class name, without its package. */
    static String typeName(Throwable failure) {
        String name = failure.getClass().getName();
        return name.substring(name.lastIndexOf('.') + 1);
    }

    private static boolean causedBy(Throwable failure, Class<? extends Throwable> type) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (type.isInstance(cause)) {
                return true;
            }
        }
        return false;
    }

    private static boolean thrownIn(Throwable failure, String className) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            for (StackTraceElement frame : cause.getStackTrace()) {
                if (frame.getClassName().equals(className)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean startsWithAny(String message, List<String> prefixes) {
        return prefixes.stream().anyMatch(message::startsWith);
    }
}
