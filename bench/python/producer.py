"""A frame producer written like the second seed's Pi producer.

kafka-python's KafkaProducer, one send() per frame read from disk, the frame
record contract's headers added so the broker gets the same records as from
frameline and kcat, then flush(). Usage:
  producer.py --bootstrap HOST:PORT --security SASL_SSL|SASL_PLAINTEXT
              --password-file F [--ca F] --topic T --key CAMERA-1 --acks all FILE...
"""
import argparse
import time

from kafka import KafkaProducer

p = argparse.ArgumentParser()
p.add_argument("--bootstrap", required=True)
p.add_argument("--security", required=True)
p.add_argument("--password-file", required=True)
p.add_argument("--ca")
p.add_argument("--topic", required=True)
p.add_argument("--key", required=True)
p.add_argument("--acks", default="all")
p.add_argument("files", nargs="+")
a = p.parse_args()

with open(a.password_file) as f:
    password = f.read().strip()
producer = KafkaProducer(
    bootstrap_servers=a.bootstrap, security_protocol=a.security, sasl_mechanism="SCRAM-SHA-512",
    sasl_plain_username="agent", sasl_plain_password=password, ssl_cafile=a.ca, ssl_check_hostname=False,
    acks=a.acks if a.acks == "all" else int(a.acks), linger_ms=0, max_request_size=2_000_000,
)
frames = []
for path in a.files:
    with open(path, "rb") as f:
        frames.append(f.read())
started = time.monotonic()
for seq, jpeg in enumerate(frames):
    headers = [("content-type", b"image/jpeg"), ("fl-schema", b"1"), ("fl-camera", a.key.encode()), ("fl-run", b"bench"), ("fl-seq", str(seq).encode()),
               ("fl-captured-at", str(int(time.time() * 1000)).encode()), ("fl-width", b"1280"), ("fl-height", b"720")]
    producer.send(a.topic, key=a.key.encode(), value=jpeg, headers=headers)
producer.flush()
print(f'{{"sendSeconds": {time.monotonic() - started}}}')
producer.close()
