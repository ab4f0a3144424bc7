package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A revision file whose header cannot be read (a power cut, a disk error) is skipped, and its number never reused. */
class RevisionStoreNumberingTest {
  @TempDir
  Path dir;

  @Test
  void numberingGoesOnPastTheHighestFileAndNeverOverwritesOne() throws Exception {
    RevisionStore store = new RevisionStore(dir);
    store.write("a: 1\n", "u", "one");
    store.write("a: 2\n", "u", "two");
    store.write("a: 3\n", "u", "three");
    Files.writeString(dir.resolve("000003.yaml"), "\u0000\u0000garbage\na: 3\n");
    Files.writeString(dir.resolve("000004.yaml"), ""); // what a power cut can leave of an unsynced file
    byte[] first = Files.readAllBytes(dir.resolve("000001.yaml"));

    assertEquals(2, store.latest().orElseThrow().number(), "the newest readable revision");
    Revision r = store.write("a: 5\n", "u", "five");
    assertEquals(5, r.number());
    assertEquals("a: 5\n", store.text(5).orElseThrow());
    assertEquals(5, store.latest().orElseThrow().number());
    assertEquals(List.of(1, 2, 5), store.list().stream().map(Revision::number).toList());
    assertEquals(new String(first), Files.readString(dir.resolve("000001.yaml")), "revision 1 was not overwritten");
    assertEquals("", Files.readString(dir.resolve("000004.yaml")));
  }

  @Test
  void aHeaderOfInvalidUtf8IsUnreadableNotAnError() throws Exception {
    RevisionStore store = new RevisionStore(dir);
    store.write("a: 1\n", "u", "one");
    Files.write(dir.resolve("000002.yaml"), new byte[] {(byte) 0xff, (byte) 0xfe, '\n'});
    assertEquals(1, store.latest().orElseThrow().number());
    assertEquals(3, store.write("a: 3\n", "u", "three").number());
  }
}
