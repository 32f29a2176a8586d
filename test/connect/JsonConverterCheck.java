// Reads Kafka message values or keys, one JSON document per line, and runs each through Kafka
// Connect's own JsonConverter with schemas.enable=true, as a sink connector or any Connect-based
// consumer of a Debezium topic would. Prints one line per input: "ok <the value converted back
// to JSON>" or "error <why>". Run: java -cp 'infra/kafka/lib/*' test/connect/JsonConverterCheck.java
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.json.JsonConverter;

public class JsonConverterCheck {
  public static void main(String[] args) throws Exception {
    JsonConverter converter = new JsonConverter();
    converter.configure(Map.of("schemas.enable", "true", "converter.type", "value"));
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      try {
        SchemaAndValue data = converter.toConnectData("evictd", line.getBytes(StandardCharsets.UTF_8));
        byte[] back = converter.fromConnectData("evictd", data.schema(), data.value());
        System.out.println("ok " + new String(back, StandardCharsets.UTF_8).replace('\n', ' '));
      } catch (Exception e) {
        System.out.println("error " + String.valueOf(e).replace('\n', ' '));
      }
    }
  }
}
