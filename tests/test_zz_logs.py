"""Runs last: no log record of the whole suite carried a phone number."""

from __future__ import annotations

import logging

from .conftest import LOG_CAPTURE


def test_the_capture_sees_numbers():
    logging.getLogger("peerline.selfcheck").debug("dialling %s", "+15550199999")
    assert LOG_CAPTURE.hits[-1].endswith("+15550199999")
    LOG_CAPTURE.hits.pop()


def test_no_phone_number_in_any_log_line():
    assert LOG_CAPTURE.seen > 0
    assert LOG_CAPTURE.hits == []
