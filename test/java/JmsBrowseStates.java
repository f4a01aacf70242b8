import java.util.Enumeration;
import java.util.UUID;
import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.command.ActiveMQQueue;

/**
 * What a QueueBrowser enumerates while other consumers hold, took or acked some of the queue,
 * with the real ActiveMQ JMS client. Each case: a fresh queue, 10 persistent TextMessages m0…m9
 * (property n, and color red for even n, blue for odd), the case's consumers on a second
 * connection, then a browser on the first walked to its end. Prints one line a case:
 * `BROWSE <case>: <bodies in order>` (a redelivered one as `m3(r)`), or `BROWSE <case>: FAIL <why>`.
 * Each run marks its messages (property run) so that ActiveMQ.DLQ, which every queue shares, can be browsed for its own.
 * Acks are sent synchronously (sendAcksAsync=false), so what a case acked is settled before it browses.
 *
 * Usage: java JmsBrowseStates <broker-url> <case>...
 */
public class JmsBrowseStates {
  static String url;
  /** this run's mark on every message (ActiveMQ.DLQ is shared: a case finds its own there by it) */
  static final String RUN = UUID.randomUUID().toString();

  public static void main(String[] args) throws Exception {
    url = args[0];
    for (int i = 1; i < args.length; i++) {
      try {
        System.out.println("BROWSE " + args[i] + ": " + run(args[i]));
      } catch (Throwable t) {
        System.out.println("BROWSE " + args[i] + ": FAIL " + (t.getClass().getName() + " " + t.getMessage()).replace('\n', ' '));
      }
      System.out.flush();
    }
    System.exit(0);
  }

  static Connection connect() throws JMSException {
    return connect(-1);
  }

  /** queueBrowserPrefetch: the client's (500) when negative */
  static Connection connect(int browserPrefetch) throws JMSException {
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(url);
    f.setSendAcksAsync(false);
    if (browserPrefetch >= 0) f.getPrefetchPolicy().setQueueBrowserPrefetch(browserPrefetch);
    Connection c = f.createConnection();
    c.start();
    return c;
  }

  /** m0…m9; the even ones with this time to live when ttl > 0 */
  /** sends m0..m9 (the even ones with `ttlEven` ms to live if > 0); returns the latest expiration set (0: none) */
  static long fill(Connection c, Queue q, long ttlEven) throws JMSException {
    return fill(c, q, ttlEven, 0, 10);
  }

  /** sends m`from`… (`count` of them), as fill() does */
  static long fill(Connection c, Queue q, long ttlEven, int from, int count) throws JMSException {
    Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
    MessageProducer p = s.createProducer(q);
    long expiresAt = 0;
    for (int i = from; i < from + count; i++) {
      TextMessage m = s.createTextMessage("m" + i);
      m.setIntProperty("n", i);
      m.setStringProperty("color", i % 2 == 0 ? "red" : "blue");
      m.setStringProperty("run", RUN);
      p.send(m, DeliveryMode.PERSISTENT, 4, ttlEven > 0 && i % 2 == 0 ? ttlEven : 0);
      expiresAt = Math.max(expiresAt, m.getJMSExpiration());
    }
    s.close();
    return expiresAt;
  }

  /** until the clock (the broker's: same machine) is past `expiresAt`, the JMSExpiration fill() set: the event the expiry cases wait for */
  static void untilPast(long expiresAt) throws InterruptedException {
    for (long now = System.currentTimeMillis(); now <= expiresAt; now = System.currentTimeMillis()) Thread.sleep(expiresAt - now + 1);
  }

  static String browse(Connection c, Queue q, String selector) throws JMSException {
    Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
    QueueBrowser b = selector == null ? s.createBrowser(q) : s.createBrowser(q, selector);
    StringBuilder out = new StringBuilder();
    Enumeration<?> e = b.getEnumeration();
    while (e.hasMoreElements()) {
      Message m = (Message) e.nextElement();
      out.append(((TextMessage) m).getText()).append(m.getJMSRedelivered() ? "(r) " : " ");
    }
    b.close();
    s.close();
    return out.toString().trim();
  }

  /** receives k messages; the last one received */
  static Message receive(MessageConsumer mc, int k) throws JMSException {
    Message last = null;
    for (int i = 0; i < k; i++) {
      last = mc.receive(10_000);
      if (last == null) throw new java.lang.IllegalStateException("received " + i + " of " + k);
    }
    return last;
  }

  static String run(String name) throws Exception {
    Connection c = connect();
    Connection other = connect();
    try {
      Queue q = new ActiveMQQueue("browse.states." + name + "." + UUID.randomUUID().toString().substring(0, 8));
      Queue prefetch1 = new ActiveMQQueue(q.getQueueName() + "?consumer.prefetchSize=1");
      String selector = null;
      switch (name) {
        case "client-held": {
          fill(c, q, 0);
          receive(other.createSession(false, Session.CLIENT_ACKNOWLEDGE).createConsumer(q), 3);
          break;
        }
        case "client-held-prefetch1": {
          fill(c, q, 0);
          receive(other.createSession(false, Session.CLIENT_ACKNOWLEDGE).createConsumer(prefetch1), 3);
          break;
        }
        case "client-held-browser-prefetch0": {
          // the same, browsed with queueBrowserPrefetch 0: the client pulls each message
          fill(c, q, 0);
          receive(other.createSession(false, Session.CLIENT_ACKNOWLEDGE).createConsumer(q), 3);
          Connection pulling = connect(0);
          try {
            return browse(pulling, q, null);
          } finally {
            pulling.close();
          }
        }
        case "consumer-closed":
        case "session-closed":
        case "connection-closed": {
          // a client-ack consumer (prefetch 1000) received m0 m1 m2 and its consumer, session or
          // connection closed without acking: what it never handed to the application is not redelivered
          fill(c, q, 0);
          Connection closing = connect();
          Session s = closing.createSession(false, Session.CLIENT_ACKNOWLEDGE);
          MessageConsumer mc = s.createConsumer(q);
          receive(mc, 3);
          if (name.equals("consumer-closed")) mc.close();
          else if (name.equals("session-closed")) s.close();
          closing.close();
          break;
        }
        case "two-consumers-consumer-closed":
        case "two-consumers-session-closed": {
          // one client-ack session: A (prefetch 5) holds m0…m4 and received m0 m1, B (prefetch 5)
          // holds m5…m9 and received m5; then A alone or the session closes, then the connection.
          // The session's RemoveInfo names the highest id its consumers delivered (B's m5) and
          // the broker applies it to each of them: A's m0 m1 come back not redelivered
          Queue prefetch5 = new ActiveMQQueue(q.getQueueName() + "?consumer.prefetchSize=5");
          Connection closing = connect();
          Session s = closing.createSession(false, Session.CLIENT_ACKNOWLEDGE);
          fill(c, q, 0, 0, 5);
          MessageConsumer a = s.createConsumer(prefetch5);
          receive(a, 2);
          fill(c, q, 0, 5, 5);
          receive(s.createConsumer(prefetch5), 1);
          if (name.equals("two-consumers-consumer-closed")) a.close();
          else s.close();
          closing.close();
          break;
        }
        case "two-queues-session-closed": {
          // one client-ack session: A on q (filled first: lower ids) received m0 m1, B on a second
          // queue received its m0; the session closes: only B's comes back redelivered
          Queue second = new ActiveMQQueue(q.getQueueName() + ".second");
          fill(c, q, 0);
          fill(c, second, 0);
          Connection closing = connect();
          Session s = closing.createSession(false, Session.CLIENT_ACKNOWLEDGE);
          receive(s.createConsumer(q), 2);
          receive(s.createConsumer(second), 1);
          s.close();
          closing.close();
          return browse(c, q, null) + " | " + browse(c, second, null);
        }
        case "client-acked": {
          fill(c, q, 0);
          receive(other.createSession(false, Session.CLIENT_ACKNOWLEDGE).createConsumer(q), 3).acknowledge();
          break;
        }
        case "auto-acked-prefetch1": {
          fill(c, q, 0);
          receive(other.createSession(false, Session.AUTO_ACKNOWLEDGE).createConsumer(prefetch1), 3);
          break;
        }
        case "transacted-uncommitted": {
          fill(c, q, 0);
          receive(other.createSession(true, Session.SESSION_TRANSACTED).createConsumer(q), 3);
          break;
        }
        case "transacted-committed-prefetch1": {
          fill(c, q, 0);
          Session s = other.createSession(true, Session.SESSION_TRANSACTED);
          receive(s.createConsumer(prefetch1), 3);
          s.commit();
          break;
        }
        case "expired-held": {
          // the even ones expire while a client-ack consumer holds the first three and the rest sit in its prefetch
          long expiresAt = fill(c, q, 300);
          receive(other.createSession(false, Session.CLIENT_ACKNOWLEDGE).createConsumer(q), 3);
          untilPast(expiresAt);
          break;
        }
        case "expired-dead-lettered": {
          // the even ones expired, no consumer: the browse, then what of this run ActiveMQ.DLQ holds
          untilPast(fill(c, q, 300));
          String seen = browse(c, q, null);
          return seen + " | DLQ " + browse(c, new ActiveMQQueue("ActiveMQ.DLQ"), "run = '" + RUN + "'");
        }
        case "selector-browser-held": {
          fill(c, q, 0);
          receive(other.createSession(false, Session.CLIENT_ACKNOWLEDGE).createConsumer(q), 3);
          selector = "color = 'red'";
          break;
        }
        case "selector-consumer-held": {
          fill(c, q, 0);
          receive(other.createSession(false, Session.CLIENT_ACKNOWLEDGE).createConsumer(q, "color = 'blue'"), 2);
          break;
        }
        case "two-consumers": {
          // a client-ack consumer holds m0 m1 (m2 in its prefetch); an auto-ack one took m3 m4 (m5 in its prefetch)
          fill(c, q, 0);
          receive(other.createSession(false, Session.CLIENT_ACKNOWLEDGE).createConsumer(prefetch1), 2);
          receive(other.createSession(false, Session.AUTO_ACKNOWLEDGE).createConsumer(prefetch1), 2);
          break;
        }
        default:
          throw new IllegalArgumentException("no case " + name);
      }
      return browse(c, q, selector);
    } finally {
      other.close();
      c.close();
    }
  }
}
