import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * Parses every Avro schema of the portal's test corpus (JSON lines: name, schema, accepted,
 * message; written by compat's `avro_corpus_for_the_java_check` test) with Apache Avro Java's
 * own parser, defaults validated as the serializers do, and compares the verdicts. Exits 1 when
 * the portal accepts a schema Java refuses or the other way round, unless the difference is
 * named in KNOWN with its reason.
 *
 *   java -cp '<avro 1.11 jars>/*' dev/avro-java/CheckAvro.java <corpus.jsonl>
 */
public class CheckAvro {
    /** Schemas judged differently on purpose, with why. None today. */
    static final Map<String, String> KNOWN = Map.of();

    public static void main(String[] args) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<String> disagreements = new ArrayList<>();
        int accepted = 0;
        int refused = 0;
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode entry = json.readTree(line);
            String name = entry.get("name").asText();
            boolean portal = entry.get("accepted").asBoolean();
            String javaError = null;
            try {
                new Schema.Parser().setValidateDefaults(true).parse(entry.get("schema").asText());
            } catch (RuntimeException e) {
                javaError = e.getMessage();
            }
            boolean java = javaError == null;
            if (java) {
                accepted++;
            } else {
                refused++;
            }
            if (java != portal && !KNOWN.containsKey(name)) {
                disagreements.add(String.format(
                        "%s: the portal %s it (%s), Avro Java %s %s it (%s)",
                        name,
                        portal ? "accepts" : "refuses",
                        portal ? "-" : entry.get("message").asText(),
                        Schema.class.getPackage().getImplementationVersion(),
                        java ? "accepts" : "refuses",
                        java ? "-" : javaError));
            }
        }
        System.out.printf(
                "Avro Java %s: %d schemas accepted, %d refused; %d disagreements with the portal, %d named%n",
                Schema.class.getPackage().getImplementationVersion(),
                accepted, refused, disagreements.size(), KNOWN.size());
        disagreements.forEach(d -> System.out.println("  " + d));
        System.exit(disagreements.isEmpty() ? 0 : 1);
    }
}
