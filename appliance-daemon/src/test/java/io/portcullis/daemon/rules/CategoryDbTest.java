package io.portcullis.daemon.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CategoryDbTest {
  @TempDir
  Path dir;

  @Test
  void aMillionEntriesLoadAndEveryOneIsFound() throws Exception {
    Path big = dir.resolve("big.txt");
    try (BufferedWriter w = Files.newBufferedWriter(big)) {
      w.write("# a million generated domains\n");
      for (int i = 0; i < 1_000_000; i++) {
        w.write("site" + i + ".cat" + (i % 97) + ".test\n");
      }
    }
    Path small = dir.resolve("small.txt");
    Files.writeString(small, "site5.cat5.test\nnews.test/sport\n");
    long t0 = System.nanoTime();
    CategoryDb db = CategoryDb.load(List.of("big", "small"), List.of(big, small));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("loaded " + db.entries() + " category entries in " + ms + " ms");
    assertEquals(1_000_001, db.entries());
    for (int i = 0; i < 1_000_000; i += 997) {
      assertEquals(1L, db.lookup("site" + i + ".cat" + (i % 97) + ".test", "/"), "entry " + i);
    }
    assertEquals(3L, db.lookup("www.site5.cat5.test", "/x"), "in both categories, subdomains included");
    assertEquals(0L, db.lookup("site5.cat6.test", "/"));
    assertEquals(0L, db.lookup("cat5.test", "/"), "a parent of an entry is not in it");
    assertEquals(2L, db.lookup("news.test", "/sport/today?x=1"));
    assertEquals(2L, db.lookup("news.test", "/sport"));
    assertEquals(0L, db.lookup("news.test", "/sports"));
    assertEquals(0L, db.lookup("news.test", "/"));
  }

  @Test
  void entriesAreNormalized() {
    assertEquals("a.test/x", CategoryDb.normalize("  HTTP://A.Test:8080/x/ # comment"));
    assertEquals("b.test", CategoryDb.normalize("*.b.test"));
    assertEquals(null, CategoryDb.normalize("   # only a comment"));
    assertTrue(CategoryDb.hash("abc", 0, 3) != CategoryDb.hash("abd", 0, 3));
  }
}
