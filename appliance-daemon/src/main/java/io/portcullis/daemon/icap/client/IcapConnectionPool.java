package io.portcullis.daemon.icap.client;

import io.portcullis.daemon.icap.codec.IcapDecoder;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Persistent connections to ICAP services, at most {@code max} per service; one transaction at a time on each. Lives
 * on one event loop (a proxy verticle instance): not thread-safe, and needs none.
 */
public final class IcapConnectionPool {
  private final NetClient net;
  private final int max;
  private final Map<IcapService, Deque<Conn>> idle = new HashMap<>();
  private final Map<IcapService, Integer> open = new HashMap<>();
  private final Map<IcapService, Deque<Promise<Conn>>> waiting = new HashMap<>();

  /** One connection: its socket, its response decoder, and where decoded events go now. */
  public static final class Conn {
    final IcapService service;
    final NetSocket socket;
    final IcapDecoder decoder = new IcapDecoder(IcapDecoder.Mode.RESPONSE, IcapDecoder.Limits.DEFAULTS);
    Consumer<IcapDecoder.Event> sink;
    Runnable onClose;
    boolean closed;

    Conn(IcapService service, NetSocket socket) {
      this.service = service;
      this.socket = socket;
      socket.handler(this::onData);
      socket.closeHandler(v -> {
        closed = true;
        if (onClose != null) {
          onClose.run();
        }
      });
    }

    private void onData(Buffer b) {
      List<IcapDecoder.Event> events = decoder.feed(((BufferInternal) b).getByteBuf().nioBuffer());
      for (IcapDecoder.Event e : events) {
        if (sink != null) {
          sink.accept(e);
        }
      }
    }

    public NetSocket socket() {
      return socket;
    }

    public IcapService service() {
      return service;
    }

    /** Sends events decoded from now on to {@code sink}; {@code onClose} runs if the service closes. */
    public void attach(Consumer<IcapDecoder.Event> sink, Runnable onClose) {
      this.sink = sink;
      this.onClose = onClose;
    }
  }

  public IcapConnectionPool(NetClient net, int max) {
    this.net = net;
    this.max = max;
  }

  /** A connection to {@code s}: an idle one, a new one, or the next one released. */
  public Future<Conn> acquire(IcapService s) {
    Deque<Conn> free = idle.get(s);
    while (free != null && !free.isEmpty()) {
      Conn c = free.pollFirst();
      if (!c.closed && c.decoder.idle() && !c.decoder.failed()) {
        return Future.succeededFuture(c);
      }
    }
    int n = open.getOrDefault(s, 0);
    if (n >= max) {
      Promise<Conn> p = Promise.promise();
      waiting.computeIfAbsent(s, k -> new ArrayDeque<>()).add(p);
      return p.future();
    }
    open.put(s, n + 1);
    return net.connect(s.port(), s.host()).map(sock -> new Conn(s, sock)).onFailure(e -> opened(s, -1));
  }

  private void opened(IcapService s, int delta) {
    open.merge(s, delta, Integer::sum);
  }

  /** Gives {@code c} back: to a waiting transaction, to the idle list if it can carry another, or closes it. */
  public void release(Conn c, boolean reusable) {
    c.attach(null, null);
    if (!reusable || c.closed || !c.decoder.idle() || c.decoder.failed()) {
      discard(c);
      return;
    }
    Deque<Promise<Conn>> q = waiting.get(c.service);
    if (q != null && !q.isEmpty()) {
      q.poll().complete(c);
      return;
    }
    idle.computeIfAbsent(c.service, k -> new ArrayDeque<>()).addFirst(c);
  }

  /** Closes {@code c} and lets a waiting transaction open a new connection. */
  public void discard(Conn c) {
    if (!c.closed) {
      c.closed = true;
      c.socket.close();
    }
    opened(c.service, -1);
    Deque<Promise<Conn>> q = waiting.get(c.service);
    if (q != null && !q.isEmpty()) {
      Promise<Conn> p = q.poll();
      acquire(c.service).onComplete(p);
    }
  }
}
