"""The buffered partial batch processor (lambdas.shared.batch) over Kinesis and DynamoDB stream events."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from lambdas.shared.batch import BufferedBatchProcessor

EVENTS = Path(__file__).parent / "events"
STREAMS = {
    "kinesis": (EventType.KinesisDataStreams, "kinesis_batch.json", lambda r: r["kinesis"]["sequenceNumber"]),
    "dynamodb": (EventType.DynamoDBStreams, "dynamodb_batch.json", lambda r: r["dynamodb"]["SequenceNumber"]),
}


@pytest.fixture(params=sorted(STREAMS))
def stream(request):
    event_type, fixture, sequence_number = STREAMS[request.param]
    event = json.loads((EVENTS / fixture).read_text())
    return event_type, event, [sequence_number(r) for r in event["Records"]]


class Recorder:
    """A record handler (the record's sequence number, or a failure) and a flush that records its calls."""

    def __init__(self, event_type: EventType, fail_in_process=(), fail_in_flush=()):
        self.event_type = event_type
        self.fail_in_process, self.fail_in_flush = set(fail_in_process), set(fail_in_flush)
        self.flushed: list[list[str]] = []

    def process_record(self, record) -> str:
        seq = (record.kinesis.sequence_number if self.event_type is EventType.KinesisDataStreams
               else record.dynamodb.sequence_number)
        if seq in self.fail_in_process:
            raise ValueError(f"cannot process {seq}")
        return seq

    def flush(self, results):
        self.flushed.append(list(results))
        return {position: RuntimeError(f"write of {seq} failed")
                for position, seq in enumerate(results) if seq in self.fail_in_flush}

    def run(self, event: dict) -> dict:
        processor = BufferedBatchProcessor(self.event_type, self.flush)
        return process_partial_response(event=event, record_handler=self.process_record, processor=processor)


def failures(*sequence_numbers: str) -> dict:
    return {"batchItemFailures": [{"itemIdentifier": s} for s in sequence_numbers]}


def test_when_every_record_is_processed_and_written_nothing_is_reported(stream):
    # Given a batch of three records
    event_type, event, seqs = stream
    recorder = Recorder(event_type)
    # When every record is processed and the flush writes them all
    response = recorder.run(event)
    # Then the flush got every result once, in stream order, and no record is reported
    assert recorder.flushed == [seqs]
    assert response == failures()


def test_a_record_failing_in_process_record_is_reported_and_not_flushed(stream):
    event_type, event, seqs = stream
    recorder = Recorder(event_type, fail_in_process={seqs[1]})
    response = recorder.run(event)
    assert recorder.flushed == [[seqs[0], seqs[2]]]
    assert response == failures(seqs[1])


def test_a_write_failing_in_the_flush_reports_that_record(stream):
    # Given a flush whose write of the last record fails
    event_type, event, seqs = stream
    recorder = Recorder(event_type, fail_in_flush={seqs[2]})
    # When the batch is processed
    response = recorder.run(event)
    # Then the record whose write failed is reported by its sequence number
    assert response == failures(seqs[2])


def test_the_flush_positions_are_those_of_its_results_not_of_the_batch(stream):
    # Given the first record failing in process_record: the flush sees two results, not three
    event_type, event, seqs = stream
    recorder = Recorder(event_type, fail_in_process={seqs[0]}, fail_in_flush={seqs[2]})
    # When the flush reports its position 1 (the batch's third record) as failed
    response = recorder.run(event)
    # Then both failures are reported: processing failures first, then the writes that failed
    assert recorder.flushed == [[seqs[1], seqs[2]]]
    assert response == failures(seqs[0], seqs[2])


def test_every_record_failing_raises_as_powertools_batch_processor_does(stream):
    # Given a batch where one record fails to process and the others fail to be written
    event_type, event, seqs = stream
    recorder = Recorder(event_type, fail_in_process={seqs[0]}, fail_in_flush={seqs[1], seqs[2]})
    # When it is processed, the whole batch fails (Lambda retries it) with every error attached
    with pytest.raises(BatchProcessingError, match="All records failed processing. 3 individual errors") as info:
        recorder.run(event)
    assert [str(e[1]) for e in info.value.child_exceptions] == [
        f"cannot process {seqs[0]}", f"write of {seqs[1]} failed", f"write of {seqs[2]} failed"]
    # And Powertools' own BatchProcessor gives the same outcome when every record fails
    with pytest.raises(BatchProcessingError, match="All records failed processing. 3 individual errors"):
        process_partial_response(event=event, record_handler=Recorder(event_type, fail_in_process=seqs).process_record,
                                 processor=BatchProcessor(event_type))


def test_the_response_has_the_shape_of_powertools_batch_processor(stream):
    # Given the same failing record under Powertools' BatchProcessor and under the buffered processor
    event_type, event, seqs = stream
    recorder = Recorder(event_type, fail_in_process={seqs[0], seqs[2]})
    expected = process_partial_response(event=event, record_handler=recorder.process_record,
                                        processor=BatchProcessor(event_type))
    # When the buffered processor runs the batch
    response = recorder.run(event)
    # Then its response is the same partial batch response
    assert response == expected == {"batchItemFailures": [{"itemIdentifier": seqs[0]}, {"itemIdentifier": seqs[2]}]}


def test_a_processor_reused_across_invocations_starts_each_batch_clean(stream):
    event_type, event, seqs = stream
    recorder = Recorder(event_type, fail_in_flush={seqs[0]})
    processor = BufferedBatchProcessor(event_type, recorder.flush)
    first = process_partial_response(event=event, record_handler=recorder.process_record, processor=processor)
    recorder.fail_in_flush.clear()
    second = process_partial_response(event=event, record_handler=recorder.process_record, processor=processor)
    assert (first, second) == (failures(seqs[0]), failures())
    assert recorder.flushed == [seqs, seqs]


def test_no_flush_when_no_record_succeeded_in_process_record(stream):
    event_type, event, seqs = stream
    recorder = Recorder(event_type, fail_in_process=seqs)
    with pytest.raises(BatchProcessingError):
        recorder.run(event)
    assert recorder.flushed == []


class Interrupted(BaseException):
    """Not an Exception: process_record does not catch it (as with a KeyboardInterrupt)."""


def test_an_interrupted_batch_writes_nothing(stream):
    # Given a record handler interrupted on the second record
    event_type, event, seqs = stream
    recorder = Recorder(event_type)

    def interrupted(record):
        if recorder.process_record(record) == seqs[1]:
            raise Interrupted()
        return recorder.process_record(record)

    # When the batch is processed, the interruption propagates and the first record's result is not written
    with pytest.raises(Interrupted):
        process_partial_response(event=event, record_handler=interrupted,
                                 processor=BufferedBatchProcessor(event_type, recorder.flush))
    assert recorder.flushed == []


def test_a_flush_reporting_a_position_it_was_not_given_is_an_error(stream):
    event_type, event, _ = stream
    processor = BufferedBatchProcessor(event_type, lambda results: {len(results): RuntimeError("?")})
    with pytest.raises(ValueError, match=r"flush reported positions it was not given: \[3\]"):
        process_partial_response(event=event, record_handler=lambda record: 1, processor=processor)


def test_only_stream_event_types_are_accepted():
    with pytest.raises(ValueError, match="Kinesis or DynamoDB streams, not SQS"):
        BufferedBatchProcessor(EventType.SQS, lambda results: {})
