package io.portcullis.bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The category list the rule and category benchmarks load: {@code site0.cat.test} .. {@code site(n-1).cat.test}. */
final class CategoryFiles {
  private CategoryFiles() {
  }

  /** Writes {@code dir/big.txt} with {@code n} domains, one per line, and returns its path. */
  static Path write(Path dir, int n) throws IOException {
    Path file = dir.resolve("big.txt");
    try (BufferedWriter w = Files.newBufferedWriter(file)) {
      w.write("# " + n + " domains\n");
      for (int i = 0; i < n; i++) {
        w.write("site" + i + ".cat.test\n");
      }
    }
    return file;
  }
}
