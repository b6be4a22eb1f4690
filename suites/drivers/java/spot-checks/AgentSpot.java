import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * java AgentSpot.java METHOD URL [NAME:VALUE...]: one request with java.net.http.HttpClient set up
 * as the driver's agent sessions are (HTTP/1.1, Redirect.NORMAL, no proxy); prints the final
 * status and URI. A method other than GET and HEAD carries the body "payload" (Content-Type:
 * text/plain).
 */
public class AgentSpot {
    public static void main(String[] args) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NORMAL).proxy(HttpClient.Builder.NO_PROXY).build();
        boolean withBody = !args[0].equals("GET") && !args[0].equals("HEAD");
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(args[1])).timeout(Duration.ofSeconds(5))
                .method(args[0], withBody ? HttpRequest.BodyPublishers.ofString("payload")
                        : HttpRequest.BodyPublishers.noBody());
        if (withBody) {
            builder.header("Content-Type", "text/plain");
        }
        for (int i = 2; i < args.length; i++) {
            String[] field = args[i].split(":", 2);
            builder.header(field[0], field[1].trim());
        }
        try {
            HttpResponse<String> response = client.send(builder.build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.ISO_8859_1));
            System.out.println("status " + response.statusCode() + " uri " + response.uri() + " body " + response.body());
        } catch (Exception failure) {
            for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
                System.out.println("error " + cause.getClass().getName() + ": " + cause.getMessage());
            }
        }
    }
}
