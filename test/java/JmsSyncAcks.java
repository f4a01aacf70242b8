import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * Synchronous acks across a crash of the broker.
 * `JmsSyncAcks hold <url> <queue>`: sends m0..m19 (persistent), then a CLIENT_ACKNOWLEDGE consumer
 * (prefetch 1, sendAcksAsync=false: each acknowledge() waits for the broker's answer) receives and
 * acknowledges m0..m9, prints `ACKED` and waits to be killed (the test kills the broker now).
 * `JmsSyncAcks hold-tx <url> <queue>`: the same sent, then a SESSION_TRANSACTED consumer receives
 * m0..m9 and commits (commit() waits for the broker's answer), prints `ACKED` and waits to be killed.
 * `JmsSyncAcks drain <url> <queue>`: prints `LEFT <texts>` of what the queue still holds.
 */
public class JmsSyncAcks {
  public static void main(String[] a) throws Exception {
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(a[1] + "?jms.prefetchPolicy.all=1&jms.sendAcksAsync=false");
    f.setUserName("guest");
    f.setPassword("guest");
    Connection c = f.createConnection();
    c.start();
    Session s = c.createSession(false, Session.CLIENT_ACKNOWLEDGE);
    Queue q = s.createQueue(a[2]);
    if (a[0].equals("hold")) {
      MessageProducer p = s.createProducer(q);
      p.setDeliveryMode(DeliveryMode.PERSISTENT);
      for (int i = 0; i < 20; i++) p.send(s.createTextMessage("m" + i));
      MessageConsumer consumer = s.createConsumer(q);
      for (int i = 0; i < 10; i++) consumer.receive(10000).acknowledge();
      System.out.println("ACKED");
      System.out.flush();
      Thread.sleep(120000);
    } else if (a[0].equals("hold-tx")) {
      MessageProducer p = s.createProducer(q);
      p.setDeliveryMode(DeliveryMode.PERSISTENT);
      for (int i = 0; i < 20; i++) p.send(s.createTextMessage("m" + i));
      Session tx = c.createSession(true, Session.SESSION_TRANSACTED);
      MessageConsumer consumer = tx.createConsumer(tx.createQueue(a[2]));
      for (int i = 0; i < 10; i++) consumer.receive(10000);
      tx.commit();
      System.out.println("ACKED");
      System.out.flush();
      Thread.sleep(120000);
    } else {
      MessageConsumer consumer = s.createConsumer(q);
      StringBuilder left = new StringBuilder("LEFT");
      for (Message m; (m = consumer.receive(2000)) != null; ) {
        left.append(' ').append(((TextMessage) m).getText());
        m.acknowledge();
      }
      System.out.println(left);
    }
    System.exit(0);
  }
}
