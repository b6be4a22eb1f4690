import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * One command from the suite, with typed access to its members. A command that does not fit the
 * protocol's schema is the suite's mistake, never the client's: IllegalArgumentException, and the
 * driver stops.
 */
final class Command {
    private final Map<String, Object> members;

    private Command(Map<String, Object> members) {
        this.members = members;
    }

    static Command parse(String line) {
        return object("a command", Json.parse(line));
    }

    long id() {
        return member("id", Long.class);
    }

    String op() {
        return string("op");
    }

    String string(String name) {
        return member(name, String.class);
    }

    String optionalString(String name) {
        return members.get(name) == null ? null : string(name);
    }

    double seconds(String name) {
        double seconds = member(name, Number.class).doubleValue();
        if (!(seconds > 0)) {
            throw new IllegalArgumentException("\"" + name + "\" must be a positive number of seconds");
        }
        return seconds;
    }

    /** An optional boolean member: false when absent or null ("agent" of an open). */
    boolean flag(String name) {
        return members.get(name) != null && member(name, Boolean.class);
    }

    /** A request's "stream" settings (agent sessions only); null for a request read whole. */
    Streaming.Settings stream() {
        Object stream = members.get("stream");
        if (stream == null) {
            return null;
        }
        Command settings = object("\"stream\"", stream);
        long chunkSize = settings.member("chunk_size", Long.class);
        long limit = settings.member("limit", Long.class);
        if (chunkSize <= 0 || chunkSize > Integer.MAX_VALUE || limit < 0) {
            throw new IllegalArgumentException("\"stream\" needs a chunk_size from 1 to 2^31-1 and a limit >= 0");
        }
        return new Streaming.Settings((int) chunkSize, limit);
    }

    /** The TLS settings of an open; null for the client's defaults. */
    Tls.Settings tls() {
        Object tls = members.get("tls");
        if (tls == null) {
            return null;
        }
        Command settings = object("\"tls\"", tls);
        return new Tls.Settings(settings.optionalString("ca_file"), settings.optionalString("client_cert"),
                settings.member("check_hostname", Boolean.class));
    }

    /** A request's header pairs, in order. */
    List<String[]> headers() {
        List<String[]> pairs = new ArrayList<>();
        for (Object pair : member("headers", List.class)) {
            List<?> nameAndValue = cast("headers", pair, List.class);
            if (nameAndValue.size() != 2) {
                throw new IllegalArgumentException("a header must be a [name, value] pair");
            }
            pairs.add(new String[] {cast("header name", nameAndValue.get(0), String.class),
                    cast("header value", nameAndValue.get(1), String.class)});
        }
        return pairs;
    }

    /** A request's body; null when it has none. */
    byte[] body() {
        String body = optionalString("body");
        return body == null ? null : Base64.getDecoder().decode(body);
    }

    // Json gives every object as a Map<String, Object>.
    @SuppressWarnings("unchecked")
    private static Command object(String what, Object value) {
        if (!(value instanceof Map)) {
            throw new IllegalArgumentException(what + " must be a JSON object");
        }
        return new Command((Map<String, Object>) value);
    }

    private <T> T member(String name, Class<T> type) {
        if (!members.containsKey(name)) {
            throw new IllegalArgumentException("the command has no \"" + name + "\"");
        }
        return cast(name, members.get(name), type);
    }

    private static <T> T cast(String what, Object value, Class<T> type) {
        if (!type.isInstance(value)) {
            throw new IllegalArgumentException("\"" + what + "\" must be a " + type.getSimpleName());
        }
        return type.cast(value);
    }
}
