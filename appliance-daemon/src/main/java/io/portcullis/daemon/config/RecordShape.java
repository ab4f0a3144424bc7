package io.portcullis.daemon.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A config record type's components, their names and canonical constructor, looked up once per class: reflection
 * per bound record (Class.getRecordComponents copies and re-parses signatures on every call) made a 100 000-rule
 * config take seconds to read.
 */
record RecordShape(RecordComponent[] components, Set<String> names, Constructor<?> constructor) {
  private static final ClassValue<RecordShape> SHAPES = new ClassValue<>() {
    @Override
    protected RecordShape computeValue(Class<?> type) {
      RecordComponent[] components = type.getRecordComponents();
      Set<String> names = new LinkedHashSet<>();
      Class<?>[] types = new Class<?>[components.length];
      for (int i = 0; i < components.length; i++) {
        names.add(components[i].getName());
        types[i] = components[i].getType();
        components[i].getGenericType(); // parse the signature now, once
      }
      try {
        Constructor<?> ctor = type.getDeclaredConstructor(types);
        ctor.setAccessible(true);
        for (RecordComponent c : components) {
          c.getAccessor().setAccessible(true);
        }
        return new RecordShape(components, Collections.unmodifiableSet(names), ctor);
      } catch (ReflectiveOperationException | RuntimeException e) {
        throw new IllegalStateException("config record " + type.getName() + " has no canonical constructor", e);
      }
    }
  };

  /** The shape of a record class (callers must not modify the component array). */
  static RecordShape of(Class<?> type) {
    return SHAPES.get(type);
  }
}
