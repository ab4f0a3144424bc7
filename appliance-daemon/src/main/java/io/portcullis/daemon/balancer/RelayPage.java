package io.portcullis.daemon.balancer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.portcullis.daemon.pages.ErrorPage;
import java.nio.charset.StandardCharsets;

/** The balancer's own answers to a client: an HTML error page in a whole HTTP/1.1 response. */
final class RelayPage {
  private RelayPage() {
  }

  /** The response for {@code status}; {@code last}: it says Connection: close; {@code head}: without the body. */
  static ByteBuf render(int status, String title, String detail, String node, boolean last, boolean head,
      ByteBufAllocator alloc) {
    byte[] body = ErrorPage.render(status, title, detail, node).getBytes(StandardCharsets.UTF_8);
    String h = "HTTP/1.1 " + status + " " + reason(status) + "\r\nContent-Type: text/html; charset=utf-8\r\n"
        + "Cache-Control: no-store\r\nContent-Length: " + body.length + "\r\n" + (last ? "Connection: close\r\n" : "")
        + "\r\n";
    ByteBuf out = alloc.buffer(h.length() + body.length).writeBytes(h.getBytes(StandardCharsets.US_ASCII));
    if (!head) { // an answer to HEAD has the length but not the body
      out.writeBytes(body);
    }
    return out;
  }

  private static String reason(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 403 -> "Forbidden";
      case 408 -> "Request Timeout";
      case 414 -> "URI Too Long";
      case 431 -> "Request Header Fields Too Large";
      case 502 -> "Bad Gateway";
      case 503 -> "Service Unavailable";
      case 505 -> "HTTP Version Not Supported";
      default -> "Error";
    };
  }
}
