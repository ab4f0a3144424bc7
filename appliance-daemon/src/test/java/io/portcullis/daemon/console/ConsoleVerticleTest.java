package io.portcullis.daemon.console;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portcullis.console.PasswordHash;
import org.junit.jupiter.api.Test;

class ConsoleVerticleTest {

  @Test
  void anUnknownUsersPasswordIsCheckedAgainstAWellFormedHashOfTodaysIterations() {
    // A malformed dummy would be refused without a derivation: a fast answer that tells a user does not exist.
    assertEquals(PasswordHash.ITERATIONS, PasswordHash.iterations(ConsoleVerticle.DUMMY));
    assertEquals(PasswordHash.ITERATIONS, PasswordHash.iterations(PasswordHash.make("x".toCharArray())));
    assertEquals(-1, PasswordHash.iterations("$pbkdf2-sha256$210000$c2FsdA$c2hvcnQ"));
  }
}
