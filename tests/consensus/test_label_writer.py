"""The writer thread runs label jobs in order, hands a job's error back, and drops queued jobs
when a run stops early (their images are labelled again on resume)."""
import threading

import pytest

from paddleseg_pssl.consensus.store.label_writer import LabelWriter


def test_jobs_run_in_submission_order_off_the_main_thread():
    seen, threads = [], set()
    writer = LabelWriter(depth=2)
    for i in range(10):
        writer.put(lambda i=i: (seen.append(i), threads.add(threading.get_ident())))
    writer.close()
    assert seen == list(range(10))
    assert threading.get_ident() not in threads


def test_a_failing_job_stops_the_writer_and_its_error_reaches_the_caller():
    seen = []
    writer = LabelWriter()
    writer.put(lambda: (_ for _ in ()).throw(OSError("disk full")))
    writer.put(lambda: seen.append("after"))
    with pytest.raises(OSError, match="disk full"):
        writer.close()
    assert seen == []


def test_close_without_drain_drops_queued_jobs():
    gate, seen = threading.Event(), []
    writer = LabelWriter(depth=4)
    writer.put(gate.wait)
    for i in range(3):
        writer.put(lambda i=i: seen.append(i))
    closer = threading.Thread(target=writer.close, kwargs={"drain": False})
    closer.start()
    gate.set()
    closer.join()
    assert seen == []
