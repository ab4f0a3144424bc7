package io.portcullis.daemon.icap.server;

import io.portcullis.daemon.icap.codec.IcapDecoder;
import io.portcullis.daemon.icap.codec.IcapResponse;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/** A blocking ICAP client for tests: writes raw bytes, reads answers with the project's decoder (response mode). */
final class IcapTestClient implements Closeable {
  /** One answer: its head and its de-chunked body. */
  record Answer(IcapResponse head, byte[] body) {
    String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  private final Socket socket;
  private final InputStream in;
  private final IcapDecoder decoder = new IcapDecoder(IcapDecoder.Mode.RESPONSE, IcapDecoder.Limits.DEFAULTS);
  private final Deque<Answer> ready = new ArrayDeque<>();
  private IcapResponse head;
  private long heads;
  private final byte[] buf = new byte[65536];
  private ByteArrayOutputStream body = new ByteArrayOutputStream();
  /** When false, bodies are counted, not kept (for big transfers). */
  boolean keepBodies = true;
  long bodyBytes;

  IcapTestClient(int port) throws IOException {
    socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(15000);
    in = socket.getInputStream();
  }

  void send(String text) throws IOException {
    send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  void send(byte[] bytes) throws IOException {
    socket.getOutputStream().write(bytes);
    socket.getOutputStream().flush();
  }

  /** The next answer; fails if the server closes first. */
  Answer read() throws IOException {
    while (ready.isEmpty()) {
      pump();
    }
    return ready.poll();
  }

  /** Reads until the next answer's head is in and returns it; its body follows with {@link #read()}. */
  IcapResponse readHead() throws IOException {
    long want = heads + 1;
    while (heads < want) {
      pump();
    }
    return head;
  }

  /** One read from the socket, decoded; fails if the server closed. */
  private void pump() throws IOException {
    int n = in.read(buf);
    if (n < 0) {
      throw new IOException("connection closed by the server");
    }
    for (IcapDecoder.Event e : decoder.feed(ByteBuffer.wrap(buf, 0, n))) {
      if (e instanceof IcapDecoder.Head h) {
        head = (IcapResponse) h.message();
        heads++;
      } else if (e instanceof IcapDecoder.Body b) {
        bodyBytes += b.data().remaining();
        if (keepBodies) {
          byte[] copy = new byte[b.data().remaining()];
          b.data().get(copy);
          body.writeBytes(copy);
        }
      } else if (e instanceof IcapDecoder.End) {
        ready.add(new Answer(head, body.toByteArray()));
        body = new ByteArrayOutputStream();
      } else if (e instanceof IcapDecoder.Error err) {
        throw new IOException("bad answer from the server: " + err.reason());
      }
    }
  }

  /** True if the server closed the connection (within the read timeout); what came before is decoded as usual. */
  boolean closedByServer() throws IOException {
    try {
      while (true) {
        pump();
      }
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // closed, or reset
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
