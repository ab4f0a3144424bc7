package io.portcullis.daemon.icap.client;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import java.nio.charset.StandardCharsets;

/** Is an ICAP service there: one OPTIONS on a connection of its own (the balancer's icap check, readiness). */
public final class IcapProbe {
  private IcapProbe() {
  }

  /**
   * OPTIONS for {@code service} (a path) at host:port; succeeds with the status line on {@code ICAP/1.0 200}, fails
   * with what came instead. The socket closes when {@code done} completes (the caller's timeout) or on the answer.
   */
  public static Future<String> options(NetClient net, String host, int port, String service, Future<?> done) {
    return net.connect(port, host).compose(sock -> {
      done.onComplete(x -> sock.close()); // also when the caller timed out: no socket left behind
      Promise<String> p = Promise.promise();
      Buffer got = Buffer.buffer();
      sock.handler(b -> {
        got.appendBuffer(b);
        String text = got.toString(StandardCharsets.ISO_8859_1);
        int eol = text.indexOf("\r\n");
        if (eol >= 0 || got.length() > 1024) {
          String line = eol >= 0 ? text.substring(0, eol) : text.substring(0, 64);
          if (line.startsWith("ICAP/1.0 200")) {
            p.tryComplete(line);
          } else {
            p.tryFail(line.isEmpty() ? "empty answer" : line);
          }
          sock.close();
        }
      });
      sock.closeHandler(v -> p.tryFail("closed without an answer"));
      sock.exceptionHandler(e -> p.tryFail(e.toString()));
      String authority = (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
      sock.write("OPTIONS icap://" + authority + service + " ICAP/1.0\r\nHost: " + authority
          + "\r\nEncapsulated: null-body=0\r\n\r\n");
      return p.future();
    });
  }
}
