package io.portcullis.daemon.icap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portcullis.daemon.config.IcapConfig;
import io.portcullis.daemon.icap.client.IcapClient;
import io.portcullis.daemon.icap.client.IcapService;
import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.Headers;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Who an ICAP message is for, from the forms clients send: plain, Base64, the extensions draft's URLs; and what our
 * own proxy sends reads back as it was meant, names beyond ASCII included.
 */
class RequesterTest {
  static final IcapConfig.IcapIdentity DEFAULTS = new IcapConfig.IcapIdentity("X-Client-IP",
      List.of("X-Client-Username", "X-Authenticated-User"), false);

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  static Requester of(String... headers) {
    return Requester.of(Headers.of(headers), DEFAULTS);
  }

  @Test
  void plainNamesThatHappenToBeBase64StayPlain() {
    // bill, dave and root are valid Base64 of bytes that are not a name: they stay as sent.
    for (String name : List.of("bill", "dave", "root", "alice", "j.smith")) {
      assertEquals(name, of("X-Authenticated-User", name).user(), name);
    }
  }

  @Test
  void base64AndTheDraftsFormsAreTheNameAlone() {
    assertEquals("alice", of("X-Authenticated-User", b64("alice")).user());
    assertEquals("alice", of("X-Authenticated-User", b64("WinNT://CORP/alice")).user());
    assertEquals("alice", of("X-Authenticated-User", b64("Local://alice")).user());
    assertEquals("alice", of("X-Authenticated-User", b64("LDAP://dc1.corp/uid=alice,ou=people,dc=corp")).user());
    assertEquals("Łukasz", of("X-Authenticated-User", b64("Łukasz")).user());
    assertEquals("o'brien", of("X-Authenticated-User", b64("o'brien")).user(), "padded: Base64 whatever it holds");
    assertEquals("bob", of("X-Client-Username", "bob", "X-Authenticated-User", b64("alice")).user(),
        "the first header present wins");
    assertEquals(List.of("finance", "Staff"), of("X-Authenticated-Groups",
        b64("WinNT://CORP/finance, LDAP://dc1/cn=Staff,ou=Groups,dc=corp")).groups());
    assertEquals(List.of("finance", "staff"), of("X-Authenticated-Groups", "finance, staff").groups());
  }

  @Test
  void whatOurProxySendsReadsBackAsMeant() {
    for (var c : List.of(List.of("alice", List.of("finance", "staff")), List.of("Łukasz", List.of("Łódź", "staff")),
        List.of("Jürgen Müller", List.of("Geschäftsführung")),
        List.of("carol", List.of("R&D", "IT (UK)", "Ventes/Europe", "Łódź")))) {
      String user = (String) c.get(0);
      @SuppressWarnings("unchecked")
      List<String> groups = (List<String>) c.get(1);
      Headers sent = IcapClient.request("REQMOD", IcapService.parse("icap://127.0.0.1:1344/av/reqmod"), "10.0.0.1",
          user, groups, null, null, BodyKind.NULL_BODY, -1, true).headers();
      // On the wire, as IcapEncoder writes a head and the parser reads it: Latin-1.
      Headers wire = Headers.EMPTY;
      for (Headers.Field f : sent.fields()) {
        wire = wire.with(f.name(), new String(f.value().getBytes(StandardCharsets.ISO_8859_1),
            StandardCharsets.ISO_8859_1));
      }
      Requester got = Requester.of(wire, DEFAULTS);
      assertEquals(user, got.user(), sent.toString());
      assertEquals(groups, got.groups(), sent.toString());
      assertEquals("10.0.0.1", got.clientIp());
    }
  }
}
