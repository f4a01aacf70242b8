import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.MessageProducer;
import javax.jms.Session;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * The ActiveMQ JMS client publishing persistent messages through its failover: transport
 * (test/controlplane/jms-failover.test.ts). Each synchronous send that returns is confirmed by
 * the broker; it prints `SENT n` then, and `DONE` at the end. The trust store comes from
 * -Djavax.net.ssl.trustStore; credentials from the URL's jms.userName / jms.password.
 */
public class JmsFailoverProducer {
  public static void main(String[] args) throws Exception {
    String url = args[0];
    String queue = args[1];
    int count = Integer.parseInt(args[2]);
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(url);
    f.setAlwaysSyncSend(true);
    Connection c = f.createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      MessageProducer p = s.createProducer(s.createQueue(queue));
      p.setDeliveryMode(DeliveryMode.PERSISTENT);
      for (int i = 0; i < count; i++) {
        p.send(s.createTextMessage("jms-" + i));
        System.out.println("SENT " + i);
        System.out.flush();
      }
      System.out.println("DONE");
      System.out.flush();
    } finally {
      c.close();
    }
    System.exit(0);
  }
}
