import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * A JMS producer flooding LocalMQ (bench/big-queue-blocking.ts 'publish (OpenWire client)'):
 * N non-persistent BytesMessages of one byte to queue Q, which the ActiveMQ client sends
 * asynchronously (no Response each, no producer window), then one persistent one, sent
 * synchronously: its Response comes once the broker has read every send before it.
 * Prints `done N in <ms> ms` (from the first send to that Response).
 * Usage: java JmsFlood <url> <queue> <count>
 */
public class JmsFlood {
  public static void main(String[] a) throws Exception {
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(a[0]);
    int count = Integer.parseInt(a[2]);
    Connection c = f.createConnection("guest", "guest");
    c.start();
    Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
    MessageProducer p = s.createProducer(s.createQueue(a[1]));
    p.setDeliveryMode(DeliveryMode.NON_PERSISTENT);
    byte[] body = { 'm' };
    long t0 = System.nanoTime();
    for (int i = 0; i < count; i++) {
      BytesMessage m = s.createBytesMessage();
      m.writeBytes(body);
      p.send(m);
    }
    BytesMessage last = s.createBytesMessage();
    last.writeBytes(body);
    p.send(last, DeliveryMode.PERSISTENT, 4, 0);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("done " + count + " in " + ms + " ms");
    c.close();
  }
}
