import java.util.Enumeration;
import javax.jms.BytesMessage;
import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Destination;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Session;
import javax.jms.TextMessage;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * The JMS headers across AMQP 1.0 and OpenWire (test/amqp10/jms-mapping.test.ts), with the
 * ActiveMQ JMS client:
 *   send URL QUEUE     a TextMessage and a BytesMessage with every JMS header set
 *   receive URL QUEUE N   N messages, each printed as one line of key=value fields
 */
public class Amqp10JmsHeaders {
  public static void main(String[] args) throws Exception {
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory("guest", "guest", args[1]);
    Connection c = f.createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Destination d = s.createQueue(args[2]);
      if (args[0].equals("send")) {
        MessageProducer p = s.createProducer(d);
        TextMessage t = s.createTextMessage("jms text");
        t.setJMSCorrelationID("corr-1");
        t.setJMSType("jms-type");
        t.setJMSReplyTo(s.createQueue("jms.replies"));
        t.setStringProperty("JMSXGroupID", "g1");
        t.setIntProperty("JMSXGroupSeq", 3);
        t.setStringProperty("origin", "jms");
        t.setIntProperty("n", 42);
        p.send(t, DeliveryMode.PERSISTENT, 7, 60000);
        BytesMessage b = s.createBytesMessage();
        b.writeBytes(new byte[] {1, 2, 3});
        p.send(b, DeliveryMode.NON_PERSISTENT, 2, 0);
      } else {
        MessageConsumer consumer = s.createConsumer(d);
        int n = Integer.parseInt(args[3]);
        for (int i = 0; i < n; i++) {
          Message m = consumer.receive(10000);
          if (m == null) throw new RuntimeException("no message " + i);
          StringBuilder out = new StringBuilder("GOT");
          if (m instanceof TextMessage) out.append(" class=text body=").append(((TextMessage) m).getText());
          else if (m instanceof BytesMessage) {
            byte[] bytes = new byte[(int) ((BytesMessage) m).getBodyLength()];
            ((BytesMessage) m).readBytes(bytes);
            out.append(" class=bytes body=").append(bytes.length);
          } else out.append(" class=").append(m.getClass().getSimpleName());
          out.append(" persistent=").append(m.getJMSDeliveryMode() == DeliveryMode.PERSISTENT);
          out.append(" priority=").append(m.getJMSPriority());
          long exp = m.getJMSExpiration();
          out.append(" ttlLeft=").append(exp == 0 ? "none" : (exp - System.currentTimeMillis() > 0 ? "positive" : "expired"));
          out.append(" correlation=").append(m.getJMSCorrelationID());
          out.append(" type=").append(m.getJMSType());
          out.append(" replyTo=").append(m.getJMSReplyTo());
          out.append(" group=").append(m.getStringProperty("JMSXGroupID"));
          out.append(" groupSeq=").append(m.getObjectProperty("JMSXGroupSeq"));
          for (Enumeration<?> e = m.getPropertyNames(); e.hasMoreElements();) {
            String k = (String) e.nextElement();
            if (k.startsWith("JMSX")) continue;
            out.append(" prop.").append(k).append('=').append(m.getObjectProperty(k));
          }
          System.out.println(out);
        }
      }
    } finally {
      c.close();
    }
  }
}
