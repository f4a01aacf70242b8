import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * JMS producer → consumer throughput with the ActiveMQ client: one producer connection
 * sends N messages of S bytes to a fresh queue while one consumer connection (AUTO_ACK,
 * default prefetch) receives them; prints `RESULT <persistent|non-persistent> <msgs/s>`.
 * Usage: java JmsThroughput <url> <count> <size> <persistent:true|false>
 */
public class JmsThroughput {
  public static void main(String[] a) throws Exception {
    String url = a[0];
    int count = Integer.parseInt(a[1]);
    int size = Integer.parseInt(a[2]);
    boolean persistent = Boolean.parseBoolean(a[3]);
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(url);
    Connection pc = f.createConnection();
    Connection cc = f.createConnection();
    cc.start();
    String name = "bench." + System.nanoTime();
    Session cs = cc.createSession(false, Session.AUTO_ACKNOWLEDGE);
    MessageConsumer consumer = cs.createConsumer(cs.createQueue(name));
    CountDownLatch done = new CountDownLatch(count);
    consumer.setMessageListener(m -> done.countDown());
    Session ps = pc.createSession(false, Session.AUTO_ACKNOWLEDGE);
    MessageProducer producer = ps.createProducer(ps.createQueue(name));
    producer.setDeliveryMode(persistent ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT);
    byte[] body = new byte[size];
    // warm-up is the first 5%: timed from the start all the same, as a user would see it
    long t0 = System.nanoTime();
    for (int i = 0; i < count; i++) {
      BytesMessage m = ps.createBytesMessage();
      m.writeBytes(body);
      producer.send(m);
    }
    long sent = System.nanoTime();
    if (!done.await(600, TimeUnit.SECONDS)) throw new java.lang.IllegalStateException("only " + (count - done.getCount()) + " received");
    long t1 = System.nanoTime();
    double secs = (t1 - t0) / 1e9;
    System.out.printf("RESULT %s %.0f msgs/s (%d x %d B in %.2f s; sending took %.2f s)%n", persistent ? "persistent" : "non-persistent", count / secs, count, size, secs, (sent - t0) / 1e9);
    pc.close();
    cc.close();
  }
}
