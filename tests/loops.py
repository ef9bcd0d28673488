"""Event loops for tests that need one of their own."""

import asyncio
import threading


def run_in_its_own_thread(main):
    """asyncio.run(main()) on a thread of its own: the browser tests leave an event loop
    running in the main thread for the rest of the session."""
    result = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(main())))
    thread.start()
    thread.join(timeout=30)
    return result[0]
