import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON the driver protocol needs, since the JDK has none: a strict reader (RFC 8259) that
 * gives objects as {@code Map<String, Object>}, arrays as {@code List<Object>}, strings, numbers
 * ({@code Long} when integral, else {@code Double}), booleans and {@code null}; and a writer for
 * the same shapes whose output is pure ASCII, so that no text a client hands back can break a line.
 */
final class Json {
    private final String text;
    private int position;

    private Json(String text) {
        this.text = text;
    }

    /** The value that is the whole of {@code text}; IllegalArgumentException if it is not JSON. */
    static Object parse(String text) {
        Json reader = new Json(text);
        Object value = reader.value();
        reader.skipWhitespace();
        if (reader.position != text.length()) {
            throw reader.error("text after the value");
        }
        return value;
    }

    /** {@code value} as one line of JSON. */
    static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out);
        return out.toString();
    }

    private Object value() {
        skipWhitespace();
        if (position >= text.length()) {
            throw error("a value was expected");
        }
        char first = text.charAt(position);
        switch (first) {
            case '{': return object();
            case '[': return array();
            case '"': return string();
            case 't': return literal("true", Boolean.TRUE);
            case 'f': return literal("false", Boolean.FALSE);
            case 'n': return literal("null", null);
            default:
                if (first == '-' || (first >= '0' && first <= '9')) {
                    return number();
                }
                throw error("unexpected character");
        }
    }

    private Map<String, Object> object() {
        Map<String, Object> members = new LinkedHashMap<>();
        position++;
        skipWhitespace();
        if (consume('}')) {
            return members;
        }
        do {
            skipWhitespace();
            if (position >= text.length() || text.charAt(position) != '"') {
                throw error("a member name was expected");
            }
            String name = string();
            skipWhitespace();
            expect(':');
            if (members.containsKey(name)) {
                throw error("member \"" + name + "\" given twice");
            }
            members.put(name, value());
            skipWhitespace();
        } while (consume(','));
        expect('}');
        return members;
    }

    private List<Object> array() {
        List<Object> items = new ArrayList<>();
        position++;
        skipWhitespace();
        if (consume(']')) {
            return items;
        }
        do {
            items.add(value());
            skipWhitespace();
        } while (consume(','));
        expect(']');
        return items;
    }

    private String string() {
        StringBuilder out = new StringBuilder();
        position++;
        while (true) {
            if (position >= text.length()) {
                throw error("unterminated string");
            }
            char c = text.charAt(position++);
            if (c == '"') {
                return out.toString();
            }
            if (c < 0x20) {
                throw error("control character in a string");
            }
            out.append(c == '\\' ? escape() : c);
        }
    }

    private char escape() {
        if (position >= text.length()) {
            throw error("unterminated escape");
        }
        char c = text.charAt(position++);
        switch (c) {
            case '"': return '"';
            case '\\': return '\\';
            case '/': return '/';
            case 'b': return '\b';
            case 'f': return '\f';
            case 'n': return '\n';
            case 'r': return '\r';
            case 't': return '\t';
            case 'u': return hexCodeUnit();
            default: throw error("invalid escape");
        }
    }

    private char hexCodeUnit() {
        if (position + 4 > text.length()) {
            throw error("short \\u escape");
        }
        int unit = 0;
        for (int end = position + 4; position < end; position++) {
            char c = text.charAt(position);
            int digit = c < 0x80 ? Character.digit(c, 16) : -1; // ASCII hex digits only
            if (digit < 0) {
                throw error("invalid \\u escape");
            }
            unit = unit * 16 + digit;
        }
        return (char) unit;
    }

    // number = [ "-" ] int [ frac ] [ exp ]; int = "0" / ( digit1-9 *DIGIT )  (RFC 8259, 6)
    private Object number() {
        int start = position;
        consume('-');
        if (consume('0')) {
            if (digitAhead()) {
                throw error("leading zero in a number");
            }
        } else {
            requireDigits();
        }
        boolean integral = true;
        if (consume('.')) {
            integral = false;
            requireDigits();
        }
        if (consume('e') || consume('E')) {
            integral = false;
            if (!consume('+')) {
                consume('-');
            }
            requireDigits();
        }
        String literal = text.substring(start, position);
        if (integral) {
            try {
                return Long.valueOf(literal);
            } catch (NumberFormatException tooLarge) {
                return Double.valueOf(literal);
            }
        }
        return Double.valueOf(literal);
    }

    private void requireDigits() {
        if (!digitAhead()) {
            throw error("a digit was expected");
        }
        while (digitAhead()) {
            position++;
        }
    }

    private boolean digitAhead() {
        return position < text.length() && text.charAt(position) >= '0' && text.charAt(position) <= '9';
    }

    private Object literal(String word, Object value) {
        if (!text.startsWith(word, position)) {
            throw error("unexpected word");
        }
        position += word.length();
        return value;
    }

    private void skipWhitespace() {
        while (position < text.length() && " \t\r\n".indexOf(text.charAt(position)) >= 0) {
            position++;
        }
    }

    private boolean consume(char wanted) {
        if (position < text.length() && text.charAt(position) == wanted) {
            position++;
            return true;
        }
        return false;
    }

    private void expect(char wanted) {
        if (!consume(wanted)) {
            throw error("'" + wanted + "' was expected");
        }
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("invalid JSON at offset " + position + ": " + what);
    }

    private static void write(Object value, StringBuilder out) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof String) {
            writeString((String) value, out);
        } else if (value instanceof Boolean || value instanceof Integer || value instanceof Long) {
            out.append(value);
        } else if (value instanceof Map) {
            writeObject((Map<?, ?>) value, out);
        } else if (value instanceof List) {
            writeArray((List<?>) value, out);
        } else {
            throw new IllegalArgumentException("no JSON form for " + value.getClass().getName());
        }
    }

    private static void writeObject(Map<?, ?> members, StringBuilder out) {
        out.append('{');
        String separator = "";
        for (Map.Entry<?, ?> member : members.entrySet()) {
            out.append(separator);
            writeString((String) member.getKey(), out);
            out.append(':');
            write(member.getValue(), out);
            separator = ",";
        }
        out.append('}');
    }

    private static void writeArray(List<?> items, StringBuilder out) {
        out.append('[');
        String separator = "";
        for (Object item : items) {
            out.append(separator);
            write(item, out);
            separator = ",";
        }
        out.append(']');
    }

    // Everything outside printable ASCII is written as a \\u escape (code unit by code unit, so a
    // lone surrogate from a client survives as the same escape): the line stays ASCII, one line.
    private static void writeString(String value, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c >= 0x20 && c < 0x7f) {
                out.append(c);
            } else {
                out.append(String.format("\\u%04x", (int) c));
            }
        }
        out.append('"');
    }
}
