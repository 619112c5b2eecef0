# encoding=utf-8
# The vendor's Python 2.7 AMQP sample (PROTOCOL.md §6, shared/seed/) ported to
# Python 3 with Debian's python3-qpid-proton. The logic is the vendor's: one
# connection with heartbeat=60, user name and HMAC-SHA1 password built once,
# proton's default reconnect, auto-accept, an extra flow(1) per message. What the
# port adds, for running it in tests: parameters from the environment instead of
# placeholders, a CA file for verified TLS, an optional fixed timestamp, and an
# exit after N messages (status 0) or after a time limit (status 1).
import base64
import hashlib
import hmac
import logging
import os
import sys
import time

from proton import SSLDomain
from proton.handlers import MessagingHandler
from proton.reactor import Container

logging.basicConfig(level=logging.INFO, format='%(asctime)s - %(name)s - %(levelname)s - %(message)s')
logger = logging.getLogger(__name__)


def current_time_millis():
    return str(int(round(time.time() * 1000)))


def do_sign(secret, sign_content):
    m = hmac.new(secret, sign_content, digestmod=hashlib.sha1)
    return base64.b64encode(m.digest()).decode('ascii')


class AmqpClient(MessagingHandler):
    def __init__(self):
        super(AmqpClient, self).__init__()
        self.expected = int(os.environ.get('SAMPLE_EXPECT_MESSAGES', '1'))
        self.max_seconds = float(os.environ.get('SAMPLE_MAX_SECONDS', '30'))
        self.received = 0
        self.conn = None

    def on_start(self, event):
        url = "amqps://%s:%s" % (os.environ.get('AMQP_HOST', 'localhost'), os.environ['AMQP_PORT'])
        accessKey = os.environ['ACCESS_KEY_ID']
        accessSecret = os.environ['ACCESS_KEY_SECRET']
        consumerGroupId = os.environ['CONSUMER_GROUP_ID']
        clientId = os.environ['CLIENT_ID']
        # iotInstanceId: the instance ID for Enterprise/new instances, "" for legacy public instances.
        iotInstanceId = os.environ.get('IOT_INSTANCE_ID', '')
        signMethod = "hmacsha1"
        timestamp = os.environ.get('SAMPLE_TIMESTAMP') or current_time_millis()
        userName = clientId + "|authMode=aksign" + ",signMethod=" + signMethod \
            + ",timestamp=" + timestamp + ",authId=" + accessKey \
            + ",iotInstanceId=" + iotInstanceId + ",consumerGroupId=" + consumerGroupId + "|"
        signContent = "authId=" + accessKey + "&timestamp=" + timestamp
        passWord = do_sign(accessSecret.encode("utf-8"), signContent.encode("utf-8"))
        ssl_domain = SSLDomain(SSLDomain.MODE_CLIENT)
        ssl_domain.set_trusted_ca_db(os.environ['AMQP_CA_FILE'])
        ssl_domain.set_peer_authentication(SSLDomain.VERIFY_PEER_NAME)
        heartbeat = int(os.environ.get('SAMPLE_HEARTBEAT', '60'))
        self.conn = event.container.connect(url, user=userName, password=passWord, heartbeat=heartbeat,
                                            ssl_domain=ssl_domain)
        self.receiver = event.container.create_receiver(self.conn)
        self.timer = event.container.schedule(self.max_seconds, self)

    def on_timer_task(self, event):
        logger.error("giving up after %s s with %d of %d messages", self.max_seconds, self.received, self.expected)
        self.conn.close()
        event.container.stop()

    def on_connection_opened(self, event):
        logger.info("Connection established, remoteUrl: %s", event.connection.hostname)

    def on_connection_closed(self, event):
        logger.info("Connection closed: %s", self)

    def on_connection_error(self, event):
        cond = event.connection.remote_condition
        logger.info("Connection error: %s: %s", cond.name if cond else None, cond.description if cond else None)

    def on_transport_error(self, event):
        if event.transport.condition:
            if event.transport.condition.info:
                logger.error("%s: %s: %s" % (
                    event.transport.condition.name, event.transport.condition.description,
                    event.transport.condition.info))
            else:
                logger.error("%s: %s" % (event.transport.condition.name, event.transport.condition.description))
        else:
            logging.error("Unspecified transport error")

    def on_message(self, event):
        message = event.message
        content = message.body.decode('utf-8') if isinstance(message.body, (bytes, memoryview)) else message.body
        topic = message.properties.get("topic")
        message_id = message.properties.get("messageId")
        print("receive message: message_id=%s, topic=%s, content=%s" % (message_id, topic, content), flush=True)
        event.receiver.flow(1)
        self.received += 1
        if self.received >= self.expected:
            # Close cleanly (the accept goes out first); the container then runs dry and returns.
            self.timer.cancel()
            event.connection.close()


client = AmqpClient()
Container(client).run()
sys.exit(0 if client.received >= client.expected else 1)
