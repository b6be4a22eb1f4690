import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/** The SSLContext of a session, from the protocol's TLS settings and PEM files, with the JDK alone. */
final class Tls {
    /** The protocol's "tls" object of an open. */
    record Settings(String caFile, String clientCert, boolean checkHostname) {
    }

    private static final Pattern PEM_BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
    // The in-memory key store that holds the client's key needs a password; nothing is stored.
    private static final char[] KEY_STORE_PASSWORD = "in-memory".toCharArray();
    // DER encodings used to wrap a SEC 1 EC key as PKCS #8 (RFC 5915, RFC 5208).
    private static final byte[] PKCS8_VERSION = {0x02, 0x01, 0x00};
    private static final byte[] OID_EC_PUBLIC_KEY = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};
    private static final int SEQUENCE = 0x30;
    private static final int OCTET_STRING = 0x04;
    private static final int EC_PARAMETERS = 0xa0; // [0] ECParameters in ECPrivateKey

    private Tls() {
    }

    static SSLContext context(Settings settings) throws Session.CannotHonour {
        try {
            X509ExtendedTrustManager trust = trustManager(settings.caFile());
            KeyManager[] keys = settings.clientCert() == null ? null : keyManagers(settings.clientCert());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, new TrustManager[] {settings.checkHostname() ? trust : new WithoutHostnameCheck(trust)},
                    null);
            return context;
        } catch (GeneralSecurityException | IOException unusable) {
            throw new IllegalStateException("the TLS settings cannot be used: " + unusable, unusable);
        }
    }

    // Trusts only the CA file's certificates; without a CA file, the JDK's own trust store.
    private static X509ExtendedTrustManager trustManager(String caFile) throws GeneralSecurityException, IOException {
        KeyStore anchors = null;
        if (caFile != null) {
            anchors = emptyKeyStore();
            List<X509Certificate> certificates = certificates(pemBlocks(caFile, "CERTIFICATE"));
            for (int i = 0; i < certificates.size(); i++) {
                anchors.setCertificateEntry("ca-" + i, certificates.get(i));
            }
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(anchors);
        for (TrustManager manager : factory.getTrustManagers()) {
            if (manager instanceof X509ExtendedTrustManager) {
                return (X509ExtendedTrustManager) manager;
            }
        }
        throw new GeneralSecurityException("the JDK's trust manager factory made no X509ExtendedTrustManager");
    }

    // The client's certificate chain and its key, from one PEM file.
    private static KeyManager[] keyManagers(String clientCert)
            throws GeneralSecurityException, IOException, Session.CannotHonour {
        List<X509Certificate> chain = certificates(pemBlocks(clientCert, "CERTIFICATE"));
        KeyStore store = emptyKeyStore();
        store.setKeyEntry("client", privateKey(clientCert), KEY_STORE_PASSWORD, chain.toArray(new Certificate[0]));
        KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        factory.init(store, KEY_STORE_PASSWORD);
        return factory.getKeyManagers();
    }

    // KeyFactory reads PKCS #8 ("PRIVATE KEY"); an EC key in SEC 1 form ("EC PRIVATE KEY", as
    // OpenSSL and trustme write it) is the same key once wrapped in PKCS #8's envelope.
    private static PrivateKey privateKey(String pemFile)
            throws GeneralSecurityException, IOException, Session.CannotHonour {
        List<byte[]> pkcs8 = pemBlocks(pemFile, "PRIVATE KEY");
        if (pkcs8.size() == 1) {
            return pkcs8Key(pkcs8.get(0));
        }
        List<byte[]> sec1 = pemBlocks(pemFile, "EC PRIVATE KEY");
        if (sec1.size() == 1) {
            return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(sec1AsPkcs8(sec1.get(0))));
        }
        throw new Session.CannotHonour("the client certificate file has no single unencrypted PRIVATE KEY "
                + "(PKCS #8) or EC PRIVATE KEY (SEC 1) block, the key forms this driver reads with the JDK alone");
    }

    private static PrivateKey pkcs8Key(byte[] der) throws GeneralSecurityException {
        GeneralSecurityException last = null;
        for (String algorithm : new String[] {"RSA", "EC", "EdDSA", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException notThisOne) {
                last = notThisOne;
            }
        }
        throw last;
    }

    // ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING, [0] ECParameters, [1] publicKey }
    // PrivateKeyInfo ::= SEQUENCE { version 0, AlgorithmIdentifier { id-ecPublicKey, curve }, OCTET STRING }
    private static byte[] sec1AsPkcs8(byte[] sec1) throws Session.CannotHonour {
        byte[] curve = null;
        Der outer = new Der(sec1, 0);
        for (int at = outer.contentStart(); at < outer.end(); at = new Der(sec1, at).end()) {
            Der element = new Der(sec1, at);
            if (element.tag() == EC_PARAMETERS) {
                curve = element.content();
            }
        }
        if (curve == null) {
            throw new Session.CannotHonour("the client's EC key does not name its curve");
        }
        byte[] algorithm = Der.encode(SEQUENCE, concat(OID_EC_PUBLIC_KEY, curve));
        return Der.encode(SEQUENCE, concat(PKCS8_VERSION, algorithm, Der.encode(OCTET_STRING, sec1)));
    }

    private static List<X509Certificate> certificates(List<byte[]> blocks) throws CertificateException {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        List<X509Certificate> certificates = new ArrayList<>();
        for (byte[] der : blocks) {
            certificates.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
        }
        return certificates;
    }

    private static List<byte[]> pemBlocks(String file, String label) throws IOException {
        String text = new String(Files.readAllBytes(Path.of(file)), StandardCharsets.US_ASCII);
        List<byte[]> blocks = new ArrayList<>();
        Matcher block = PEM_BLOCK.matcher(text);
        while (block.find()) {
            if (block.group(1).equals(label)) {
                blocks.add(Base64.getMimeDecoder().decode(block.group(2)));
            }
        }
        return blocks;
    }

    private static KeyStore emptyKeyStore() throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        return store;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /** One DER element (tag, length, content) at an offset of an encoding. */
    private record Der(byte[] encoding, int tag, int contentStart, int end) {
        Der(byte[] encoding, int start) {
            this(encoding, encoding[start] & 0xff, contentStart(encoding, start),
                    contentStart(encoding, start) + length(encoding, start));
        }

        byte[] content() {
            return Arrays.copyOfRange(encoding, contentStart, end);
        }

        private static int contentStart(byte[] encoding, int start) {
            int first = encoding[start + 1] & 0xff;
            return start + 2 + (first < 0x80 ? 0 : first & 0x7f);
        }

        private static int length(byte[] encoding, int start) {
            int first = encoding[start + 1] & 0xff;
            if (first < 0x80) {
                return first;
            }
            int length = 0;
            for (int i = 0; i < (first & 0x7f); i++) {
                length = (length << 8) | (encoding[start + 2 + i] & 0xff);
            }
            return length;
        }

        static byte[] encode(int tag, byte[] content) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(tag);
            if (content.length < 0x80) {
                out.write(content.length);
            } else {
                int octets = (Integer.SIZE - Integer.numberOfLeadingZeros(content.length) + 7) / 8;
                out.write(0x80 | octets);
                for (int shift = (octets - 1) * 8; shift >= 0; shift -= 8) {
                    out.write(content.length >>> shift);
                }
            }
            out.writeBytes(content);
            return out.toByteArray();
        }
    }

    /**
     * Checks the server's chain as the given trust manager does, but not its name. JSSE checks the
     * name inside the trust manager, when it is handed the engine (HttpClient always asks for
     * that check); called without the engine, the same manager validates the chain only. This turns
     * the check off for this one client, where the JDK's only switch is a process-wide property.
     */
    private static final class WithoutHostnameCheck extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager chainCheck;

        WithoutHostnameCheck(X509ExtendedTrustManager chainCheck) {
            this.chainCheck = chainCheck;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            chainCheck.checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            chainCheck.checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            chainCheck.checkServerTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            chainCheck.checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            chainCheck.checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            chainCheck.checkClientTrusted(chain, authType, socket);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return chainCheck.getAcceptedIssuers();
        }
    }
}
