import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

/**
 * One session of the protocol: an HttpClient of its own, whose pool the session's requests share.
 * A wire session follows no redirect and keeps no cookie; an agent session is the client as an
 * application sets it up to act as a user agent: redirects followed (Redirect.NORMAL) and cookies
 * kept (a CookieManager, in AgentCookies), both opt-ins of the JDK's builder. The JDK decodes no
 * content coding.
 */
final class Session {
    // How long close() waits for the client's connections to be closed before the driver gives up.
    private static final long CLOSE_WAIT_MILLIS = 10_000;
    private static final String PROXY_PREFIX = "proxy-";

    /** The client cannot be set up, or send a request, as asked: answered "unsupported". */
    static final class CannotHonour extends Exception {
        private static final long serialVersionUID = 1L;

        CannotHonour(String why) {
            super(why);
        }
    }

    private final HttpClient client;
    private final ExecutorService executor;
    private final Thread selectorManager;
    private final Duration timeout;
    private final boolean proxied;
    private final AgentCookies cookies; // an agent session's; null in a wire session

    private Session(HttpClient client, ExecutorService executor, Thread selectorManager, Duration timeout,
                    boolean proxied, AgentCookies cookies) {
        this.client = client;
        this.executor = executor;
        this.selectorManager = selectorManager;
        this.timeout = timeout;
        this.proxied = proxied;
        this.cookies = cookies;
    }

    static Session open(double timeoutSeconds, Tls.Settings tls, String proxy, boolean agent) throws CannotHonour {
        Duration timeout = Duration.ofNanos(Math.round(timeoutSeconds * 1e9));
        HttpClient.Builder builder = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                // NORMAL follows a redirect except from https to http (at most 5 by default, the
                // jdk.httpclient.redirects.retrylimit property); NEVER is the builder's default.
                .followRedirects(agent ? HttpClient.Redirect.NORMAL : HttpClient.Redirect.NEVER)
                .connectTimeout(timeout)
                .proxy(proxy == null ? HttpClient.Builder.NO_PROXY : proxySelector(proxy));
        // In memory, for the session's life; its default policy accepts cookies from the origin
        // server only (CookiePolicy.ACCEPT_ORIGINAL_SERVER).
        AgentCookies cookies = agent ? new AgentCookies() : null;
        if (cookies != null) {
            builder.cookieHandler(cookies);
        }
        if (tls != null) {
            builder.sslContext(Tls.context(tls));
        }
        ExecutorService executor = Executors.newCachedThreadPool(Session::daemon);
        builder.executor(executor);
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        HttpClient client = builder.build();
        return new Session(client, executor, selectorManagerStartedSince(before), timeout, proxy != null, cookies);
    }

    /**
     * The request, as the JDK's builder makes it: IllegalArgumentException if it refuses the URI,
     * the method or a header. The timeout is the JDK's only one, for the whole exchange up to the
     * response's head: the JDK has no timeout per read or write. CannotHonour if the client
     * would not send it as asked.
     */
    HttpRequest build(String method, String url, List<String[]> headers, byte[] body) throws CannotHonour {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(url))
                .timeout(timeout)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        for (String[] header : headers) {
            builder.header(header[0], header[1]);
        }
        HttpRequest request = builder.build();
        requireProxyFieldsSent(request);
        return request;
    }

    // The JDK sends a caller's Proxy-* fields to a forward proxy only: on a request to an origin
    // server, direct or through a tunnel, it drops them without a word (HttpConnection.headerFilter).
    private void requireProxyFieldsSent(HttpRequest request) throws CannotHonour {
        boolean toForwardProxy = proxied && "http".equalsIgnoreCase(request.uri().getScheme());
        for (String name : request.headers().map().keySet()) {
            if (!toForwardProxy && isProxyField(name)) {
                throw new CannotHonour("java.net.http.HttpClient sends no " + name + " field to an origin server: "
                        + "it drops a caller's Proxy-* fields unless the request goes to a forward proxy");
            }
        }
    }

    private static boolean isProxyField(String name) {
        return name.length() > PROXY_PREFIX.length() && name.regionMatches(true, 0, PROXY_PREFIX, 0, PROXY_PREFIX.length());
    }

    boolean agent() {
        return cookies != null;
    }

    /** True if a response of the last exchange arrived (agent sessions; false in a wire session). */
    boolean responseArrived() {
        return cookies != null && cookies.responseArrived();
    }

    /** Sends the request and reads its whole body; a failure comes as a CompletionException. */
    HttpResponse<byte[]> send(HttpRequest request) {
        return exchange(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    /** Sends the request; the body is left to be read from the stream. A failure comes as a CompletionException. */
    HttpResponse<InputStream> stream(HttpRequest request) {
        return exchange(request, HttpResponse.BodyHandlers.ofInputStream());
    }

    private <T> HttpResponse<T> exchange(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        if (cookies != null) {
            cookies.startExchange();
        }
        return client.sendAsync(request, handler).join();
    }

    /**
     * Closes every connection of the session. HttpClient has no close() before Java 21: its
     * selector manager thread owns the connections and closes them all when it ends, which an
     * interrupt makes it do at once (left alone, it ends only some seconds after the client is
     * garbage). The close is done when that thread has ended.
     */
    void close() {
        selectorManager.interrupt();
        try {
            selectorManager.join(CLOSE_WAIT_MILLIS);
        } catch (InterruptedException unexpected) {
            Thread.currentThread().interrupt();
        }
        executor.shutdownNow();
        if (selectorManager.isAlive()) {
            throw new IllegalStateException(selectorManager.getName() + " did not end: the session's connections "
                    + "may still be open");
        }
    }

    private static ProxySelector proxySelector(String proxy) {
        URI address = URI.create(proxy);
        if (!"http".equals(address.getScheme()) || address.getHost() == null || address.getPort() < 0) {
            throw new IllegalArgumentException("a proxy must be http://HOST:PORT, not " + proxy);
        }
        return ProxySelector.of(new InetSocketAddress(address.getHost(), address.getPort()));
    }

    // Building an HttpClient starts its selector manager thread ("HttpClient-N-SelectorManager"),
    // which the API does not hand out: found as the one such thread the build added.
    private static Thread selectorManagerStartedSince(Set<Thread> before) {
        List<Thread> started = Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> !before.contains(thread) && thread.getName().endsWith("-SelectorManager"))
                .collect(Collectors.toList());
        if (started.size() != 1) {
            throw new IllegalStateException("building an HttpClient started " + started.size()
                    + " selector manager threads, not one: its connections could not be closed");
        }
        return started.get(0);
    }

    // The client's worker threads must not keep the driver alive once its input has ended.
    private static Thread daemon(Runnable work) {
        Thread thread = new Thread(work);
        thread.setDaemon(true);
        return thread;
    }
}
