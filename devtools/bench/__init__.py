"""Benchmark: cold starts, capture latency against its floor, auth latency, Firestore operations per request.

`make bench` (or `python -m devtools.bench [--quick]`) starts its own emulators on
free loopback ports, runs the entry points in real functions-framework processes,
prints a table and writes the numbers to bench-results.json. Not part of the test
suite; nothing here is deployed.

1. Cold start of every function (`coldstart`): process spawn to first successful
   response, against the baseline of importing its client libraries in a fresh
   interpreter (same rounds).
2. Capture latency (sequential, keep-alive) and throughput (8 clients); the same
   entry point in-process through a test client, to split HTTP from handler time.
3. The floor of a capture: its Firestore and Pub/Sub calls issued directly by
   calling the same shared functions with a plain client, round-robin with (2).
4. register/login (bcrypt cost 12) and refresh latency (`auth`).
5. Firestore reads, writes and deletes per request, counted on the wire (`opcounts`).

Each measurement is one module exposing MEASUREMENT (its phases and its section
of the report), listed once in `__main__.MEASUREMENTS`.
"""
