"""A real SMTP server for tests (aiosmtpd from PyPI), storing every message in a Maildir.

Usage: smtp_server.py MAILDIR PORT. Prints READY once it accepts connections and stops when its
standard input closes, so the test needs neither sleeps nor cleanup scripts.
"""
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

controller = Controller(Mailbox(sys.argv[1]), hostname="127.0.0.1", port=int(sys.argv[2]))
controller.start()
print("READY", flush=True)
sys.stdin.read()
controller.stop()
