package io.portcullis.daemon.icap.codec;

import io.portcullis.daemon.http1.TokenList;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** An ordered list of header fields, names compared without case; immutable. Used for ICAP and HTTP headers. */
public final class Headers {
  public static final Headers EMPTY = new Headers(List.of());

  /** One header field as written: its name and its value (without surrounding whitespace). */
  public record Field(String name, String value) {
  }

  private final List<Field> fields;

  private Headers(List<Field> fields) {
    this.fields = fields;
  }

  public static Headers of(String... namesAndValues) {
    List<Field> list = new ArrayList<>();
    for (int i = 0; i + 1 < namesAndValues.length; i += 2) {
      list.add(new Field(namesAndValues[i], namesAndValues[i + 1]));
    }
    return new Headers(Collections.unmodifiableList(list));
  }

  /** Takes {@code fields} as they are (the caller gives up the list: no copy on the decoder's path). */
  static Headers ofFields(List<Field> fields) {
    return new Headers(Collections.unmodifiableList(fields));
  }

  public List<Field> fields() {
    return fields;
  }

  public int size() {
    return fields.size();
  }

  /** The first value of {@code name}, or null. */
  public String get(String name) {
    for (Field f : fields) {
      if (f.name().equalsIgnoreCase(name)) {
        return f.value();
      }
    }
    return null;
  }

  /** Every value of {@code name}, in order. */
  public List<String> getAll(String name) {
    List<String> out = new ArrayList<>();
    for (Field f : fields) {
      if (f.name().equalsIgnoreCase(name)) {
        out.add(f.value());
      }
    }
    return out;
  }

  public boolean contains(String name) {
    return get(name) != null;
  }

  /** True when a comma-separated value of {@code name} holds {@code token} (e.g. {@code Allow: 204}). */
  public boolean hasToken(String name, String token) {
    for (Field f : fields) {
      if (f.name().equalsIgnoreCase(name) && TokenList.has(f.value(), token)) {
        return true;
      }
    }
    return false;
  }

  /** A copy with {@code name} removed and set to {@code value} at the end. */
  public Headers with(String name, String value) {
    List<Field> list = new ArrayList<>(without(name).fields);
    list.add(new Field(name, value));
    return new Headers(Collections.unmodifiableList(list));
  }

  /** A copy without any field named {@code name}. */
  public Headers without(String name) {
    List<Field> list = new ArrayList<>();
    for (Field f : fields) {
      if (!f.name().equalsIgnoreCase(name)) {
        list.add(f);
      }
    }
    return new Headers(Collections.unmodifiableList(list));
  }

  /** Appends the fields as {@code Name: value CRLF} lines. */
  void appendTo(StringBuilder sb) {
    for (Field f : fields) {
      sb.append(f.name()).append(": ").append(f.value()).append("\r\n");
    }
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Headers h) || h.fields.size() != fields.size()) {
      return false;
    }
    for (int i = 0; i < fields.size(); i++) {
      Field a = fields.get(i);
      Field b = h.fields.get(i);
      if (!a.name().toLowerCase(Locale.ROOT).equals(b.name().toLowerCase(Locale.ROOT)) || !a.value().equals(b.value())) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    int h = 1;
    for (Field f : fields) {
      h = 31 * h + f.name().toLowerCase(Locale.ROOT).hashCode() * 7 + f.value().hashCode();
    }
    return h;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    appendTo(sb);
    return sb.toString();
  }
}
