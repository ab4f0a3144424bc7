package io.portcullis.daemon.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.Lockout;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** fail2ban's rule, on a clock the test moves: maxFailures within window lock out for duration. */
class LoginThrottleTest {
  static final long S = 1_000_000_000L;
  final AtomicLong now = new AtomicLong(1000 * S);
  final LoginThrottle t = new LoginThrottle(now::get);
  final Lockout rule = new Lockout(3, Duration.ofMinutes(1), Duration.ofMinutes(5));

  @Test
  void failuresWithinTheWindowLockOutForTheDuration() {
    assertFalse(t.failed("10.0.0.1", rule));
    assertFalse(t.failed("10.0.0.1", rule));
    assertEquals(0, t.lockedFor("10.0.0.1"));
    assertTrue(t.failed("10.0.0.1", rule), "the third failure locks");
    assertEquals(300, t.lockedFor("10.0.0.1"));
    assertEquals(0, t.lockedFor("10.0.0.2"), "only that address");
    assertFalse(t.failed("10.0.0.1", rule), "already locked: not a new lockout");
    now.addAndGet(299 * S);
    assertEquals(1, t.lockedFor("10.0.0.1"));
    now.addAndGet(2 * S);
    assertEquals(0, t.lockedFor("10.0.0.1"));
    assertEquals(1, t.lockouts());
  }

  @Test
  void failuresOutsideTheWindowDoNotAddUp() {
    t.failed("a", rule);
    t.failed("a", rule);
    now.addAndGet(61 * S);
    assertFalse(t.failed("a", rule), "the first two are out of the window");
    assertFalse(t.failed("a", rule));
    assertTrue(t.failed("a", rule));
  }

  @Test
  void ipv6CountsByItsSlash64AndZeroNeverLocks() {
    assertFalse(t.failed("2001:db8:1:2::1", rule));
    assertFalse(t.failed("2001:db8:1:2:ffff::9", rule));
    assertTrue(t.failed("2001:db8:1:2:abcd:1:2:3", rule), "three addresses of one /64: one host");
    assertEquals(300, t.lockedFor("2001:db8:1:2::77"));
    assertEquals(0, t.lockedFor("2001:db8:1:3::1"));
    assertEquals("10.0.0.1", LoginThrottle.key("::ffff:10.0.0.1"));
    Lockout never = new Lockout(0, Duration.ofMinutes(1), Duration.ofMinutes(5));
    for (int i = 0; i < 100; i++) {
      assertFalse(t.failed("b", never));
    }
    assertEquals(0, t.lockedFor("b"));
  }

  @Test
  void memoryStaysBoundedAndALockedOutAddressIsNeverForgotten() {
    for (int i = 0; i < 3; i++) {
      t.failed("locked", rule);
    }
    for (int i = 0; i < LoginThrottle.MAX_ADDRESSES + 10; i++) {
      t.failed("addr-" + i, rule);
    }
    assertTrue(t.tracked() <= LoginThrottle.MAX_ADDRESSES, Integer.toString(t.tracked()));
    assertEquals(300, t.lockedFor("locked"), "a flood of new addresses does not unlock it");
  }
}
