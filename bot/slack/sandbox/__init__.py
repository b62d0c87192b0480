"""The loopback Slack sandbox: a Web API stub on 127.0.0.1 and a driver that signs requests like Slack."""

from bot.slack.sandbox.driver import SlackDriver
from bot.slack.sandbox.stub import Faults, SlackStub

__all__ = ["Faults", "SlackDriver", "SlackStub"]
