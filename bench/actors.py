"""Actor runtime against a bare anyio memory-object stream doing the same work.

    python -m bench.actors [--backend asyncio|trio] [--messages N] [--rounds R]

Each row runs the runtime and its baseline alternately, `rounds` times, and
keeps the best of each; the ratio is runtime / baseline (1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from actors import Actor, ActorSpec, Request, Supervisor, running

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

BATCH = 1000
CALLERS = 64


@dataclass(frozen=True)
class Ping(Request[int]):
    n: int


class Echo(Actor[Ping]):
    async def handle(self, message: Ping) -> int:
        return message.n


async def runtime_ask(n: int) -> None:
    spec = ActorSpec("echo", Echo, mailbox_size=BATCH)
    async with running(Supervisor("root", [spec])):
        for i in range(n):
            await spec.ref.ask(Ping(i))


async def runtime_tell(n: int) -> None:
    spec = ActorSpec("echo", Echo, mailbox_size=BATCH + 1)
    async with running(Supervisor("root", [spec])):
        for start in range(0, n, BATCH):
            for i in range(start, min(start + BATCH, n)):
                spec.ref.tell(Ping(i))
            await spec.ref.ask(Ping(-1))  # every tell before it has been handled


async def runtime_concurrent(n: int) -> None:
    spec = ActorSpec("echo", Echo, mailbox_size=CALLERS)
    async with running(Supervisor("root", [spec])), anyio.create_task_group() as tg:
        for _ in range(CALLERS):
            tg.start_soon(_asker, spec, n // CALLERS)


async def _asker(spec: ActorSpec[Ping], count: int) -> None:
    for i in range(count):
        await spec.ref.ask(Ping(i))


# -- baselines: the same exchanges over bare memory object streams -----------


async def _serve(
    requests: MemoryObjectReceiveStream[tuple[int, Any]],
) -> None:
    async with requests:
        async for n, reply in requests:
            if reply is not None:
                await reply.send(n)


async def stream_ask(n: int) -> None:
    send, receive = anyio.create_memory_object_stream[tuple[int, Any]](BATCH)
    back_send, back_receive = anyio.create_memory_object_stream[int](1)
    async with anyio.create_task_group() as tg, send, back_send, back_receive:
        tg.start_soon(_serve, receive)
        for i in range(n):
            await send.send((i, back_send))
            await back_receive.receive()


async def stream_tell(n: int) -> None:
    send, receive = anyio.create_memory_object_stream[tuple[int, Any]](BATCH + 1)
    back_send, back_receive = anyio.create_memory_object_stream[int](1)
    async with anyio.create_task_group() as tg, send, back_send, back_receive:
        tg.start_soon(_serve, receive)
        for start in range(0, n, BATCH):
            for i in range(start, min(start + BATCH, n)):
                send.send_nowait((i, None))
            await send.send((-1, back_send))
            await back_receive.receive()


async def stream_concurrent(n: int) -> None:
    send, receive = anyio.create_memory_object_stream[tuple[int, Any]](CALLERS)
    async with anyio.create_task_group() as tg, send:
        tg.start_soon(_serve, receive)
        async with anyio.create_task_group() as callers:
            for _ in range(CALLERS):
                callers.start_soon(_stream_asker, send, n // CALLERS)


async def _stream_asker(send: MemoryObjectSendStream[tuple[int, Any]], count: int) -> None:
    back_send, back_receive = anyio.create_memory_object_stream[int](1)
    async with back_send, back_receive:
        for i in range(count):
            await send.send((i, back_send))
            await back_receive.receive()


ROWS: list[tuple[str, Any, Any]] = [
    ("ask round trip, 1 caller", runtime_ask, stream_ask),
    (f"ask, {CALLERS} concurrent callers", runtime_concurrent, stream_concurrent),
    ("tell, bursts of 1000", runtime_tell, stream_tell),
]


def rate(backend: str, bench: Callable[[int], Awaitable[None]], n: int) -> float:
    started = time.perf_counter()
    anyio.run(bench, n, backend=backend)
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"backend {args.backend}, {args.messages} messages, best of {args.rounds}\n")
    print(f"| {'operation':<30} | {'runtime msg/s':>14} | {'bare stream msg/s':>17} | ratio |")
    print(f"|{'-' * 32}|{'-' * 16}|{'-' * 19}|-------|")
    for label, runtime, baseline in ROWS:
        ours = theirs = 0.0
        for _ in range(args.rounds):
            ours = max(ours, rate(args.backend, runtime, args.messages))
            theirs = max(theirs, rate(args.backend, baseline, args.messages))
        print(f"| {label:<30} | {ours:>14,.0f} | {theirs:>17,.0f} | {ours / theirs:5.2f} |")


if __name__ == "__main__":
    main()
