"""`make soak`: a bounded, seeded chaos run that ends with an audit of every tweet.

Modules: `proxy` (a loopback TCP proxy that can refuse or blackhole connections),
`stack` (emulators, proxies and function processes, and the faults applied to them),
`extension` (the careful-extension clients and their ledger), `drain` (continuous
pull of the topic), `audit` (the balance) and `report` (table and JSON).
"""
