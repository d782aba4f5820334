"""inboxd's benchmarks (issue 7): `python -m bench <scenario>` or `make bench`.

Everything runs on loopback on this machine; see docs/benchmarks.md for the results and
bench/README.md for how to run them.
"""
