import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The answer to a request, as the protocol spells it. */
final class Outcomes {
    // The JDK's request builder refuses a URI, method or header it will not send with
    // IllegalArgumentException (its documented exception for that); the only refusal it has.
    static final String VALIDATION_ERROR = "IllegalArgumentException";

    private Outcomes() {
    }

    static Map<String, Object> ok(long id) {
        Map<String, Object> ok = answer(id);
        ok.put("ok", true);
        return ok;
    }

    static Map<String, Object> unsupported(long id, String why) {
        Map<String, Object> unsupported = answer(id);
        unsupported.put("unsupported", why);
        return unsupported;
    }

    /** The response; an agent session's also says the URI it came from, after redirects. */
    static Map<String, Object> response(long id, HttpResponse<byte[]> response, boolean agent) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("status", response.statusCode());
        fields.put("reason", null);
        fields.put("version", null);
        fields.put("headers", headerPairs(response));
        fields.put("body", Base64.getEncoder().encodeToString(bodyOf(response)));
        if (agent) {
            // The ASCII form: what the client sent for it (java.net.URI may hold other characters,
            // which the protocol's strings, one byte a character, cannot carry).
            fields.put("url", response.uri().toASCIIString());
        }
        Map<String, Object> answer = answer(id);
        answer.put("response", fields);
        return answer;
    }

    /** The figures of a body read through the streaming API (Streaming.read). */
    static Map<String, Object> streamed(long id, Map<String, Object> figures) {
        Map<String, Object> answer = answer(id);
        answer.put("streamed", figures);
        return answer;
    }

    // The JDK hands a proxy's refusal of its CONNECT (a 407, say) to the caller as the response to
    // the https request itself, with no body read: body() is then null.
    private static byte[] bodyOf(HttpResponse<byte[]> response) {
        return response.body() == null ? new byte[0] : response.body();
    }

    // HttpHeaders keeps fields in a map sorted by name (case-insensitively; names come
    // lower-cased): the order on the wire is lost, except among the values of one name.
    private static List<Object> headerPairs(HttpResponse<byte[]> response) {
        List<Object> pairs = new ArrayList<>();
        response.headers().map().forEach((name, values) -> values.forEach(value -> pairs.add(List.of(name, value))));
        return pairs;
    }

    /** The builder refused the request: by design for what it never lets a caller set, else invalid input. */
    static Map<String, Object> refused(long id, IllegalArgumentException refusal) {
        if (ErrorKinds.isRestriction(refusal)) {
            return unsupported(id, "java.net.http.HttpClient cannot send this request: " + refusal.getMessage());
        }
        return error(id, ErrorKinds.INVALID_INPUT, refusal);
    }

    /**
     * The exchange failed: the client's exception, out of the future's wrappers, and its kind.
     * afterResponse: a response of the exchange (a redirect) had arrived (ErrorKinds.of).
     */
    static Map<String, Object> failure(long id, Throwable thrown, boolean afterResponse) {
        Throwable cause = ErrorKinds.unwrap(thrown);
        return error(id, ErrorKinds.of(cause, afterResponse), cause);
    }

    private static Map<String, Object> error(long id, String kind, Throwable cause) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("kind", kind);
        error.put("type", ErrorKinds.typeName(cause));
        error.put("message", Objects.toString(cause.getMessage(), ""));
        Map<String, Object> answer = answer(id);
        answer.put("error", error);
        return answer;
    }

    private static Map<String, Object> answer(long id) {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("id", id);
        return answer;
    }
}
