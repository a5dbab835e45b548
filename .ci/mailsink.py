#!/usr/bin/env python3
"""Fallback SMTP sink for CI, used only when maildev cannot be installed.

Accepts mail over SMTP (aiosmtpd) and serves a subset of maildev 2's REST API
so tests written against maildev work unchanged:

  GET    /email           -> JSON list of messages (oldest first)
  GET    /email/<id>      -> one message
  GET    /email/<id>/source -> the raw message (RFC 5322 bytes)
  GET    /email/<id>/html -> the HTML part
  DELETE /email/<id>      -> delete one message
  DELETE /email/all       -> delete every message
  GET    /healthz         -> "true"

Each message has: id, messageId, subject, from[{address,name}], to[{address,name}],
cc[...], bcc (envelope-only recipients), text, html, headers{lower-case name:
value}, date, time, envelope{from, to}, attachments[{fileName, contentType,
length}], size, source (raw RFC 5322 text).

Usage: mailsink.py --smtp 1025 --web 1080 --ip 127.0.0.1
"""

import argparse
import email
import email.policy
import json
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

STORE = []
RAW = {}  # id -> raw bytes
LOCK = threading.Lock()


def _addrs(values):
    return [{"address": a, "name": n} for n, a in getaddresses(values) if a]


def parse(raw: bytes, mail_from: str, rcpt_tos):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = html = None
    attachments = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disp = part.get_content_disposition()
        if disp == "attachment" or (disp == "inline" and part.get_filename()):
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                {
                    "fileName": part.get_filename(),
                    "contentType": ctype,
                    "length": len(payload),
                }
            )
        elif ctype == "text/plain" and text is None:
            text = part.get_content().replace("\r\n", "\n")
        elif ctype == "text/html" and html is None:
            html = part.get_content().replace("\r\n", "\n")
    headers = {}
    for k, v in msg.items():
        headers.setdefault(k.lower(), str(v))
    header_rcpts = {
        a["address"].lower()
        for a in _addrs(msg.get_all("to", []) + msg.get_all("cc", []))
    }
    now = datetime.now(timezone.utc).isoformat()
    return {
        "id": uuid.uuid4().hex[:8],
        "messageId": str(msg.get("message-id", "")).strip().strip("<>") or None,
        "subject": str(msg.get("subject", "")),
        "from": _addrs(msg.get_all("from", [])),
        "to": _addrs(msg.get_all("to", [])),
        "cc": _addrs(msg.get_all("cc", [])),
        "calculatedBcc": [
            {"address": r, "name": ""}
            for r in rcpt_tos
            if r.lower() not in header_rcpts
        ],
        "text": text,
        "html": html,
        "headers": headers,
        "date": headers.get("date"),
        "time": now,
        "envelope": {
            "from": {"address": mail_from},
            "to": [{"address": r} for r in rcpt_tos],
        },
        "attachments": attachments,
        "size": len(raw),
        "source": raw.decode("utf-8", "replace"),
        "read": False,
    }


class Handler:
    async def handle_DATA(self, server, session, envelope):
        item = parse(envelope.original_content or envelope.content,
                     envelope.mail_from, list(envelope.rcpt_tos))
        with LOCK:
            STORE.append(item)
            RAW[item["id"]] = envelope.original_content or envelope.content
        print(f"{time.strftime('%F %T')} mail {item['id']} to={envelope.rcpt_tos} "
              f"subject={item['subject']!r}", flush=True)
        return "250 Message accepted for delivery"


class Api(BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_raw(self, code, data, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _parts(self):
        return [p for p in self.path.split("?")[0].split("/") if p]

    def do_GET(self):
        p = self._parts()
        if p == ["healthz"]:
            return self._send(200, True)
        if p == ["email"]:
            with LOCK:
                return self._send(200, list(STORE))
        if len(p) in (2, 3) and p[0] == "email":
            with LOCK:
                for m in STORE:
                    if m["id"] != p[1]:
                        continue
                    if len(p) == 2:
                        return self._send(200, m)
                    if p[2] == "source":
                        return self._send_raw(200, RAW.get(m["id"], b""), "text/plain")
                    if p[2] == "html":
                        return self._send_raw(200, (m["html"] or "").encode(),
                                              "text/html; charset=utf-8")
        return self._send(404, {"error": "not found"})

    def do_DELETE(self):
        p = self._parts()
        if p == ["email", "all"]:
            with LOCK:
                STORE.clear()
                RAW.clear()
            return self._send(200, True)
        if len(p) == 2 and p[0] == "email":
            with LOCK:
                for i, m in enumerate(STORE):
                    if m["id"] == p[1]:
                        del STORE[i]
                        RAW.pop(p[1], None)
                        return self._send(200, True)
        return self._send(404, {"error": "not found"})

    def log_message(self, fmt, *args):
        sys.stdout.write("%s http %s\n" % (time.strftime("%F %T"), fmt % args))
        sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smtp", type=int, default=1025)
    ap.add_argument("--web", type=int, default=1080)
    ap.add_argument("--ip", default="127.0.0.1")
    a = ap.parse_args()
    ctl = Controller(Handler(), hostname=a.ip, port=a.smtp,
                     data_size_limit=100 * 1024 * 1024)
    ctl.start()
    httpd = ThreadingHTTPServer((a.ip, a.web), Api)
    print(f"mailsink: SMTP {a.ip}:{a.smtp}, HTTP http://{a.ip}:{a.web}/email", flush=True)
    try:
        httpd.serve_forever()
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
