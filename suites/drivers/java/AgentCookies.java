import java.io.IOException;
import java.net.CookieHandler;
import java.net.CookieManager;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An agent session's cookie jar: a CookieManager with its defaults, which also counts the
 * responses it is shown. The client hands the cookie handler every response of an exchange,
 * redirects included, before it follows one: a failure after the count is above zero happened
 * on a request the client built from a Location.
 */
final class AgentCookies extends CookieHandler {
    private final CookieManager jar = new CookieManager();
    private final AtomicInteger responses = new AtomicInteger();

    /** A new exchange starts: no response of it has arrived yet. */
    void startExchange() {
        responses.set(0);
    }

    boolean responseArrived() {
        return responses.get() > 0;
    }

    @Override
    public Map<String, List<String>> get(URI uri, Map<String, List<String>> requestHeaders) throws IOException {
        return jar.get(uri, requestHeaders);
    }

    @Override
    public void put(URI uri, Map<String, List<String>> responseHeaders) throws IOException {
        responses.incrementAndGet();
        jar.put(uri, responseHeaders);
    }
}
