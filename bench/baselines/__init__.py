"""The baselines the scenarios compare with, each run in a process of its own."""
