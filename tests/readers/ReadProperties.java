// Reads each .properties file given with java.util.Properties, both ways: load(InputStream)
// (ISO-8859-1) and load(Reader) (UTF-8). Prints one JSON object per file on its own line:
// {"file": NAME, "stream": {KEY: VALUE...} or {"error": WHY}, "reader": ...}. Every character
// outside printable ASCII is printed as a backslash-u escape (4 hex digits), so the output is unambiguous.
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.TreeSet;

public class ReadProperties {
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c >= 0x20 && c < 0x7f) {
                b.append(c);
            } else {
                b.append(String.format("\\u%04x", (int) c));
            }
        }
        return b.append('"').toString();
    }

    static String read(String file, boolean reader) {
        Properties p = new Properties();
        try (InputStream in = new FileInputStream(file)) {
            if (reader) {
                try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                    p.load(r);
                }
            } else {
                p.load(in);
            }
        } catch (Exception e) {
            return "{\"error\":" + quote(e.getClass().getSimpleName() + ": " + e.getMessage()) + "}";
        }
        StringBuilder b = new StringBuilder("{");
        for (String k : new TreeSet<>(p.stringPropertyNames())) {
            if (b.length() > 1) {
                b.append(',');
            }
            b.append(quote(k)).append(':').append(quote(p.getProperty(k)));
        }
        return b.append('}').toString();
    }

    public static void main(String[] args) {
        for (String file : args) {
            System.out.println("{\"file\":" + quote(file) + ",\"stream\":" + read(file, false)
                    + ",\"reader\":" + read(file, true) + "}");
        }
    }
}
