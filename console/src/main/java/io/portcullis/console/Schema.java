package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The config's key tree as the daemon's schema gives it ({@code GET /api/v1/schema}): what the shell completes and
 * explains. A new config key appears here without console code.
 */
final class Schema {
  /** One key of the tree: a section, a list of named items ({@code access[]}), or a leaf with a type. */
  static final class Node {
    final String name;
    final Map<String, Node> children = new LinkedHashMap<>();
    boolean namedList;
    String type;
    String doc = "";
    List<String> values = List.of();

    Node(String name) {
      this.name = name;
    }

    boolean leaf() {
      return type != null;
    }
  }

  final Node root = new Node("");

  Schema(JsonNode body) {
    for (JsonNode k : body.path("keys")) {
      Node n = root;
      for (String part : k.path("path").asText().split("\\.")) {
        boolean list = part.endsWith("[]");
        String name = list ? part.substring(0, part.length() - 2) : part;
        n = n.children.computeIfAbsent(name, Node::new);
        n.namedList |= list;
      }
      n.type = k.path("type").asText();
      n.doc = k.path("doc").asText();
      List<String> values = new ArrayList<>();
      k.path("values").forEach(v -> values.add(v.asText()));
      if (values.isEmpty() && n.type.equals("boolean")) {
        values.addAll(List.of("true", "false"));
      }
      n.values = values;
    }
  }

  /**
   * Where {@code words} lead from the top: the node reached; {@code atItemName} when the next word is an item's name
   * (the node is a named list); {@code inValues} when the node is a leaf and the next words are its values.
   */
  record Position(Node node, boolean atItemName, boolean inValues) {
  }

  /** Follows {@code words} (keys and item names); null if they leave the tree. */
  Position walk(List<String> words) {
    Node n = root;
    boolean needName = false;
    for (String w : words) {
      if (n.leaf()) {
        return new Position(n, false, true);
      }
      if (needName) {
        needName = false;
        continue;
      }
      Node next = n.children.get(w);
      if (next == null) {
        return null;
      }
      n = next;
      needName = n.namedList;
    }
    return new Position(n, needName, n.leaf());
  }
}
