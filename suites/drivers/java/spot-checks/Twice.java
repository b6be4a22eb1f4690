import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** java Twice.java URL: two GETs in a row with one java.net.http.HttpClient; prints each body. */
public class Twice {
    public static void main(String[] args) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .proxy(HttpClient.Builder.NO_PROXY).build();
        for (String path : new String[] {"first", "second"}) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(args[0] + path)).timeout(Duration.ofSeconds(5)).build();
            System.out.println(path + ": " + new String(client.send(request, HttpResponse.BodyHandlers.ofString()).body()));
        }
    }
}
