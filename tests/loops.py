"""Event loops for tests that need one of their own."""

import asyncio
import threading


def run_in_its_own_thread(main, timeout: float = 30):
    """asyncio.run(main()) on a thread of its own: the browser tests leave an event loop
    running in the main thread for the rest of the session. What main() raises is raised
    here."""
    result, error = [], []

    def run():
        try:
            result.append(asyncio.run(main()))
        except BaseException as exc:  # raised again in the test's thread
            error.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=timeout)
    if error:
        raise error[0]
    if not result:
        raise TimeoutError(f"still running after {timeout} s")
    return result[0]
