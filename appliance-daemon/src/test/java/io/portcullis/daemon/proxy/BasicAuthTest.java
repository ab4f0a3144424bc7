package io.portcullis.daemon.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.ConfigLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import org.apache.commons.codec.digest.Sha2Crypt;
import org.junit.jupiter.api.Test;

/** An unknown user name costs a hash check as a known one does, so timing does not tell which names exist. */
class BasicAuthTest {
  static String header(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void unknownAndKnownUsersCostOneHashCheckEachAndARepeatCostsNone() throws Exception {
    String hash = Sha2Crypt.sha512Crypt("right".getBytes(StandardCharsets.UTF_8), "$6$somesalt");
    BasicAuth auth = BasicAuth.of(ConfigLoader.parse("proxy: { auth: { enabled: true, users: [ { name: alice, "
        + "password: '" + hash + "' } ] } }\n").proxy().auth(), Path.of("."));
    assertNull(auth.check(header("alice", "wrong")));
    assertEquals(1, auth.hashChecks());
    assertNull(auth.check(header("nobody", "wrong")));
    assertEquals(2, auth.hashChecks(), "an unknown name is checked against a real hash too");
    assertTrue(auth.knownWrong(header("nobody", "wrong")), "and remembered as wrong");
    assertEquals("alice", auth.check(header("alice", "right")).name());
    assertEquals(3, auth.hashChecks());
  }

  @Test
  void anUnknownNameIsCheckedAgainstAHashOfTheKindMostUsersHave() {
    String md5 = "$apr1$salt$abcdefghijklmnopqrstu.";
    String sha = "$6$somesalt$x";
    String dear = "$6$rounds=20000$salt$x";
    assertEquals(sha, BasicAuth.dummyFor(java.util.List.of(md5, sha, "$6$other$y", dear)), "two of $6$ default rounds");
    assertEquals(md5, BasicAuth.dummyFor(java.util.List.of("$1$not$us", md5, "$apr1$b$c", sha)), "two of apr1");
    assertEquals(dear, BasicAuth.dummyFor(java.util.List.of(md5, sha, dear)), "a tie: the dearest");
    assertEquals("$6$x$", BasicAuth.dummyFor(java.util.List.of()), "no users at all");
  }
}
