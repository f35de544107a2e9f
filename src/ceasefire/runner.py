"""One way to run many articles: a bounded pool, input read as it is needed, one progress bar.

`summarize_many`, `run_batch` and the eval harness all fan out through `run_all`. At most
twice as many inputs as workers are read ahead, so a million-line JSONL costs the memory of a
few articles; the bar is tqdm's, which draws a widget in Jupyter and a bar on stderr elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


def run_all(
    work: Callable[[In], Out],
    inputs: Iterable[In],
    *,
    workers: int,
    progress: bool = False,
    total: int | None = None,
    label: str = "",
) -> Iterator[tuple[int, Out]]:
    """`work` over `inputs` in `workers` threads; yields (input's position, result) as each
    finishes. Stopping early (an interrupt) cancels what was read ahead and not started."""
    pending: dict[Future[Out], int] = {}
    numbered = enumerate(inputs)
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    bar = progress_bar(enabled=progress, total=total, label=label)

    def read_one() -> None:
        for position, item in numbered:
            pending[pool.submit(work, item)] = position
            return

    try:
        for _ in range(2 * max(1, workers)):
            read_one()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                position = pending.pop(future)
                read_one()
                bar.update()
                yield position, future.result()
    finally:
        bar.close()
        pool.shutdown(wait=True, cancel_futures=True)


def progress_bar(*, enabled: bool, total: int | None, label: str, unit: str = " articles") -> Any:
    """The one progress bar of ceasefire: tqdm's widget in Jupyter, a bar on stderr elsewhere."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit=unit, disable=not enabled, dynamic_ncols=True)
