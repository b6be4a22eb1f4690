import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * java Spot.java URL [SECONDS]: one GET with java.net.http.HttpClient; prints what the client made of
 * the response, then keeps the client referenced for SECONDS (so that it is not garbage collected).
 */
public class Spot {
    public static void main(String[] args) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).proxy(HttpClient.Builder.NO_PROXY).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create(args[0])).timeout(Duration.ofSeconds(5)).build();
        try {
            HttpResponse<byte[]> response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
            System.out.println("status " + response.statusCode());
            response.headers().map().forEach((name, values) ->
                    values.forEach(value -> System.out.println("header " + name + ": " + escaped(value))));
            System.out.println("body " + escaped(new String(response.body(), StandardCharsets.ISO_8859_1)));
        } catch (Exception failure) {
            for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
                System.out.println("error " + cause.getClass().getName() + ": " + cause.getMessage());
            }
        }
        if (args.length > 1) {
            Thread.sleep(Long.parseLong(args[1]) * 1000);
            System.out.println("client still referenced: " + client);
        }
    }

    private static String escaped(String text) {
        StringBuilder out = new StringBuilder();
        for (char c : text.toCharArray()) {
            out.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
        }
        return out.toString();
    }
}
