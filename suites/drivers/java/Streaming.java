import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A stream request of an agent session: the body read through the client's streaming API
 * ({@code BodyHandlers.ofInputStream}) a piece at a time, never held whole: the suite measures the
 * driver's peak memory around it.
 */
final class Streaming {
    // How much of the body the answer quotes (agent.HEAD_KEPT in the suite).
    private static final int HEAD_KEPT = 65536;

    /** Read in pieces of at most {@code chunkSize} bytes, until {@code limit} bytes or the end. */
    record Settings(int chunkSize, long limit) {
    }

    private Streaming() {
    }

    /**
     * Reads {@code body} into one reused buffer until the settings' limit or its end, keeping only
     * its first bytes, then closes it (which releases the response, read to its end or not). The
     * figures are the protocol's "streamed" member.
     */
    static Map<String, Object> read(InputStream body, Settings settings) throws IOException {
        byte[] piece = new byte[settings.chunkSize()];
        byte[] head = new byte[HEAD_KEPT];
        int kept = 0;
        long received = 0;
        long pieces = 0;
        try (body) {
            while (received < settings.limit()) {
                int count = body.read(piece);
                if (count < 0) {
                    break;
                }
                if (count > 0) {
                    received += count;
                    pieces++;
                    int keep = Math.min(count, HEAD_KEPT - kept);
                    System.arraycopy(piece, 0, head, kept, keep);
                    kept += keep;
                }
            }
        }
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("received", received);
        figures.put("pieces", pieces);
        figures.put("head", Base64.getEncoder().encodeToString(Arrays.copyOf(head, kept)));
        return figures;
    }

    /**
     * What the client met while the body was read: the input stream reports a failure of the
     * exchange (the connection ended, a chunk was malformed) as the cause of an
     * IOException("closed"), the message it also gives for a read after close().
     */
    static Throwable failureOf(IOException thrown) {
        Throwable cause = thrown.getCause();
        return "closed".equals(thrown.getMessage()) && cause != null ? cause : thrown;
    }
}
