import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * A JMS producer flooding one queue that has no consumer for a fixed time (bench/memory-goals.ts
 * `flood` over OpenWire): BytesMessages of SIZE bytes, NON_PERSISTENT (sent asynchronously by the
 * ActiveMQ client) or PERSISTENT (asynchronously too: the URL should carry jms.useAsyncSend=true,
 * or each send waits for the broker's Response). A send blocks while the client's socket is full,
 * which is how a JMS producer sees the broker stop reading it under the memory alarm.
 * Prints one JSON line: published, the longest send (`longestStallMs`, from `stallAtMs` after
 * the start; a send still blocked when time is up counts until then) and the sends of a second or more.
 * Usage: java JmsTimedFlood <url> <queue> <seconds> <size> <persistent true|false>
 */
public class JmsTimedFlood {
  private static long t0, published, longest, longestAt;
  /** when the send in progress began (0: none), read by the timer that ends the run */
  private static volatile long sendStart;
  private static final StringBuilder stalls = new StringBuilder();

  private static synchronized void sent(long from, long now) {
    long took = now - from;
    if (took > longest) {
      longest = took;
      longestAt = from - t0;
    }
    if (took >= 1_000_000_000L) stalls.append(stalls.length() == 0 ? "" : ",").append("[").append((from - t0) / 1_000_000).append(",").append(took / 1_000_000).append("]");
  }

  /** the result line, then exit (a send blocked in the socket's write is left there) */
  private static synchronized void finish() {
    long from = sendStart;
    if (from != 0) sent(from, System.nanoTime());
    System.out.println("{\"protocol\":\"openwire\",\"published\":" + published + ",\"longestStallMs\":" + longest / 1_000_000 + ",\"stallAtMs\":" + longestAt / 1_000_000 + ",\"stalls\":[" + stalls + "]}");
    System.out.flush();
    Runtime.getRuntime().halt(0);
  }

  public static void main(String[] a) throws Exception {
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(a[0]);
    long seconds = Long.parseLong(a[2]);
    byte[] body = new byte[Integer.parseInt(a[3])];
    java.util.Arrays.fill(body, (byte) 'f');
    boolean persistent = Boolean.parseBoolean(a[4]);
    Connection c = f.createConnection("guest", "guest");
    c.start();
    Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
    MessageProducer p = s.createProducer(s.createQueue(a[1]));
    p.setDeliveryMode(persistent ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT);
    t0 = System.nanoTime();
    Thread timer = new Thread(() -> {
      try {
        Thread.sleep(seconds * 1000);
      } catch (InterruptedException e) {
        // ends the run now
      }
      finish();
    });
    timer.setDaemon(true);
    timer.start();
    for (;;) {
      BytesMessage m = s.createBytesMessage();
      m.writeBytes(body);
      long from = System.nanoTime();
      sendStart = from;
      p.send(m);
      synchronized (JmsTimedFlood.class) {
        sendStart = 0;
        published++;
        sent(from, System.nanoTime());
      }
    }
  }
}
