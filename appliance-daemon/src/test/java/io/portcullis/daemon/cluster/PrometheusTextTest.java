package io.portcullis.daemon.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PrometheusTextTest {
  static final String CONTROL = """
      # HELP portcullis_decisions_total traffic decisions
      # TYPE portcullis_decisions_total counter
      portcullis_decisions_total{action="allow",source="proxy"} 3.0
      # HELP portcullis_config_revision the config revision in effect
      # TYPE portcullis_config_revision gauge
      portcullis_config_revision 7.0
      """;
  static final String NODE = """
      # HELP portcullis_config_revision the config revision in effect
      # TYPE portcullis_config_revision gauge
      portcullis_config_revision 5.0
      # HELP portcullis_only_on_nodes a family the control node lacks
      # TYPE portcullis_only_on_nodes counter
      portcullis_only_on_nodes{a="b"} 1.0
      # HELP portcullis_decisions_total traffic decisions
      # TYPE portcullis_decisions_total counter
      portcullis_decisions_total{action="block",source="icap"} 2.0
      """;

  @Test
  void nodeSamplesJoinTheirFamilyOnceWithANodeLabelAndHeadersAreNotRepeated() {
    Map<String, String> nodes = new LinkedHashMap<>();
    nodes.put("n1", NODE);
    nodes.put("n2", NODE.replace("5.0", "6.0"));
    assertEquals("""
        # HELP portcullis_decisions_total traffic decisions
        # TYPE portcullis_decisions_total counter
        portcullis_decisions_total{action="allow",source="proxy"} 3.0
        portcullis_decisions_total{node="n1",action="block",source="icap"} 2.0
        portcullis_decisions_total{node="n2",action="block",source="icap"} 2.0
        # HELP portcullis_config_revision the config revision in effect
        # TYPE portcullis_config_revision gauge
        portcullis_config_revision 7.0
        portcullis_config_revision{node="n1"} 5.0
        portcullis_config_revision{node="n2"} 6.0
        # HELP portcullis_only_on_nodes a family the control node lacks
        # TYPE portcullis_only_on_nodes counter
        portcullis_only_on_nodes{node="n1",a="b"} 1.0
        portcullis_only_on_nodes{node="n2",a="b"} 1.0
        """, PrometheusText.merge(CONTROL, nodes));
  }

  @Test
  void aNodeNameIsEscapedAsALabelValue() {
    assertEquals("m{node=\"a\\\"b\"} 1", PrometheusText.label("m 1", "a\"b"));
    assertEquals("m{node=\"x\"} 1", PrometheusText.label("m{} 1", "x"));
  }

  @Test
  void withoutNodesTheControlNodesTextIsUnchanged() {
    assertEquals(CONTROL, PrometheusText.merge(CONTROL, Map.of()));
  }

  @Test
  void aNodesInvalidOrNodeLabelledLinesAreDroppedAndTheRestKept() {
    String bad = """
        # HELP portcullis_config_revision the config revision in effect
        # TYPE portcullis_config_revision gauge
        portcullis_config_revision{ 5.0
        portcullis_config_revision{node="other"} 5.0
        portcullis_config_revision{a="x\\"}y"} 4.0
        portcullis_config_revision{b="1"} not-a-number
        portcullis_config_revision{c="2"} +Inf 1700000000000
        """;
    String merged = PrometheusText.merge(CONTROL, Map.of("n1", bad));
    assertEquals(CONTROL.replace("portcullis_config_revision 7.0\n", """
        portcullis_config_revision 7.0
        portcullis_config_revision{node="n1",a="x\\"}y"} 4.0
        portcullis_config_revision{node="n1",c="2"} +Inf 1700000000000
        """), merged);
  }
}
