import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * One JMS durable subscriber, for tests that share its subscription with another protocol:
 * `JmsDurableSubscriber <url> <clientId> <topic> <subscriptionName> <quietMs> [unsubscribe]`
 * prints `GOT <text>` for each message until none comes for quietMs, closes the subscriber
 * (then unsubscribes: `UNSUBSCRIBED` or `REFUSED <exception>`). A refused connection or
 * subscriber prints `REFUSED <exception>`.
 */
public class JmsDurableSubscriber {
  public static void main(String[] a) throws Exception {
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(a[0]);
    f.setUserName("guest");
    f.setPassword("guest");
    Connection c = f.createConnection();
    try {
      c.setClientID(a[1]);
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      TopicSubscriber sub = s.createDurableSubscriber(s.createTopic(a[2]), a[3]);
      for (Message m; (m = sub.receive(Long.parseLong(a[4]))) != null; ) System.out.println("GOT " + ((TextMessage) m).getText());
      sub.close();
      if (a.length > 5) {
        s.unsubscribe(a[3]);
        System.out.println("UNSUBSCRIBED");
      }
    } catch (JMSException e) {
      System.out.println("REFUSED " + e);
    } finally {
      try {
        c.close();
      } catch (JMSException e) {
        // the refused connection is closed already
      }
    }
    System.exit(0);
  }
}
