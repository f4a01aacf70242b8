import java.util.Enumeration;
import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * A JMS QueueBrowser over queue Q (bench/big-queue-blocking.ts 'OpenWire queue browser'):
 * enumerates every message the broker sends for it, without consuming any.
 * Prints `done N in <ms> ms, first after <ms> ms` (from creating the browser to the end of the
 * enumeration, and to its first message: hasMoreElements() waits for it).
 * Usage: java JmsBrowse <url> <queue>
 */
public class JmsBrowse {
  public static void main(String[] a) throws Exception {
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory(a[0]);
    Connection c = f.createConnection("guest", "guest");
    c.start();
    Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
    long t0 = System.nanoTime();
    QueueBrowser browser = s.createBrowser(s.createQueue(a[1]));
    int n = 0;
    long first = -1;
    for (Enumeration<?> e = browser.getEnumeration(); e.hasMoreElements(); e.nextElement()) {
      if (n++ == 0) first = (System.nanoTime() - t0) / 1_000_000;
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("done " + n + " in " + ms + " ms, first after " + first + " ms");
    browser.close();
    c.close();
  }
}
