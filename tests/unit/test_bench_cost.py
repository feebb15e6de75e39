"""The cost arithmetic of `make bench`'s cost section."""

from __future__ import annotations

import pytest

from bench import cost
from bench.cost import MIX, Operation


def test_lambda_bills_each_invocation_rounded_up_to_the_millisecond() -> None:
    # 1,000 calls of 10.2 ms at 512 MB: 11 ms each, half a GB: 5.5 GB-s.
    assert cost.lambda_gb_seconds(1_000, 10.2, 512) == pytest.approx(5.5)


def test_sqs_bills_every_64_kb_chunk_of_a_batch() -> None:
    # 100 small messages: 10 batches, each one chunk: 10 sends + 10 receives + 10 deletes.
    assert cost.sqs_requests(100, 1_000) == 30
    # 10 messages of 10 KB make a 100 KB batch: 2 chunks to send and to receive.
    assert cost.sqs_requests(10, 10_000) == 2 + 2 + 1
    assert cost.sqs_requests(0, 1_000) == 0


def test_a_million_requests_cost_the_mix_of_their_operations() -> None:
    operations = {
        name: Operation(name, read_units=1.0, write_units=2.0, milliseconds=9.5) for name in MIX
    }
    lines = cost.cost_lines(operations, memory_mb=1024)
    by_name = {line.component.split(" (")[0]: line for line in lines}
    assert by_name["API Gateway requests"].rest == pytest.approx(3.50)
    assert by_name["API Gateway requests"].http == pytest.approx(1.00)
    # Every request writes 2 units: 2 million WRU at $0.625 a million.
    assert by_name["DynamoDB writes"].rest == pytest.approx(1.25)
    assert by_name["DynamoDB reads"].rest == pytest.approx(0.125)
    # 10 ms billed at 1 GB: 10,000 GB-s.
    assert by_name["Lambda duration"].rest == pytest.approx(10_000 * 0.0000133334)
    assert by_name["DynamoDB Streams reads"].rest == 0.0
    rest, http = cost.total(lines)
    assert rest - http == pytest.approx(2.50)
